/** Small React hooks shared by the pages. */
import { useCallback, useEffect, useState } from 'react';
import { describeError } from './api.js';

/** Sets the tab title to "<page> · Vigil". */
export function useDocumentTitle(page: string): void {
  useEffect(() => {
    document.title = page ? `${page} · Vigil` : 'Vigil';
  }, [page]);
}

/**
 * A form's submit state: `busy` while `run` works, and the server's message in `error` when it
 * fails (`onError` then clears what should not stay filled, such as a password).
 */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (work: () => Promise<void>, onError?: () => void) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(describeError(err));
      onError?.();
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
