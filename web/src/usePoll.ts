/**
 * Loads data now and again every `intervalMs`, keeping the last good answer when a refresh fails.
 * Polling pauses while the tab is hidden and catches up as soon as it is shown again.
 * An interval of 0 loads once (and again on `refresh()`).
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

export function usePoll<T>(load: () => Promise<T>, intervalMs: number): Poll<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<Date>();
  const inFlight = useRef(false);
  const live = useRef(true);
  const loadRef = useRef(load);
  loadRef.current = load;

  const refresh = useCallback(() => {
    if (inFlight.current) return;
    inFlight.current = true;
    setLoading(true);
    loadRef
      .current()
      .then(
        (answer) => {
          if (!live.current) return;
          setData(answer);
          setError(undefined);
          setUpdatedAt(new Date());
        },
        (err: unknown) => {
          if (live.current) setError(describeError(err));
        },
      )
      .finally(() => {
        inFlight.current = false;
        if (live.current) setLoading(false);
      });
  }, []);

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
