/**
 * Loads data now and again every `intervalMs`, keeping the last good answer when a refresh fails.
 * Polling pauses while the tab is hidden and catches up as soon as it is shown again.
 * An interval of 0 loads once (and again on `refresh()`).
 * `key` names what is loaded (e.g. the filters): when it changes, the data is cleared and loaded
 * again at once, and an answer still on its way for the old key is dropped.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from './api.js';

export interface Poll<T> {
  data: T | undefined;
  /** The message of the last failed load; cleared by the next success. */
  error: string | undefined;
  loading: boolean;
  updatedAt: Date | undefined;
  refresh: () => void;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number, key = ''): Poll<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<Date>();
  const inFlight = useRef(false);
  const live = useRef(true);
  // Bumped when the key changes; an answer from an older generation is ignored.
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const refresh = useCallback(() => {
    if (inFlight.current) return;
    inFlight.current = true;
    const gen = generation.current;
    const current = () => live.current && gen === generation.current;
    setLoading(true);
    loadRef
      .current()
      .then(
        (answer) => {
          if (!current()) return;
          setData(answer);
          setError(undefined);
          setUpdatedAt(new Date());
        },
        (err: unknown) => {
          if (current()) setError(describeError(err));
        },
      )
      .finally(() => {
        if (gen !== generation.current) return;
        inFlight.current = false;
        if (live.current) setLoading(false);
      });
  }, []);

  const lastKey = useRef(key);
  useEffect(() => {
    if (lastKey.current === key) return;
    lastKey.current = key;
    generation.current += 1;
    inFlight.current = false;
    setData(undefined);
    setError(undefined);
    refresh();
  }, [key, refresh]);

  useEffect(() => {
    live.current = true;
    refresh();
    if (intervalMs <= 0) {
      return () => {
        live.current = false;
      };
    }
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, intervalMs);
    const onVisible = () => {
      if (document.visibilityState === 'visible') refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      live.current = false;
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [refresh, intervalMs]);

  return { data, error, loading, updatedAt, refresh };
}
