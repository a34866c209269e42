/** Small React hooks shared by the pages. */
import { useEffect } from 'react';

/** Sets the tab title to "<page> · Vigil". */
export function useDocumentTitle(page: string): void {
  useEffect(() => {
    document.title = page ? `${page} · Vigil` : 'Vigil';
  }, [page]);
}
