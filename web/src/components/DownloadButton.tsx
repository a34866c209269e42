/** Saves text as a local file (no server round trip). */

interface DownloadButtonProps {
  text: string;
  filename: string;
  label?: string;
}

export function DownloadButton({ text, filename, label = 'Download' }: DownloadButtonProps) {
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = filename;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <button type="button" className="button button-secondary" onClick={download}>
      {label}
    </button>
  );
}
