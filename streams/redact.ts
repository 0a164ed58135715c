/**
 * Camera URLs carry credentials (rtsp://user:password@host/…), and they turn up in ffmpeg's error text, logs, reports,
 * /healthz and the feed. Everything that shows a source or an error about one passes it through here first.
 */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}
