/**
 * One benchmark figure, printed as a table row and as one JSON line:
 * `{"bench","unit","value","peer","peer_value","ratio"}` with ratio = value / peer_value.
 */
export interface Figure {
  bench: string;
  unit: string;
  value: number;
  peer: string | null;
  peer_value: number | null;
  ratio: number | null;
}

export interface Benchmark {
  name: string;
  description: string;
  run(log: (line: string) => void): Promise<Figure[]>;
}

export function figure(
  bench: string,
  unit: string,
  value: number,
  peer?: string,
  peerValue?: number,
): Figure {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    bench,
    unit,
    value: round(value),
    peer: peer ?? null,
    peer_value: peerValue === undefined ? null : round(peerValue),
    ratio: peerValue ? Math.round((value / peerValue) * 1000) / 1000 : null,
  };
}

/** The median of `xs` (the mean of the middle two when their number is even). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
