/** Small pieces every page uses: an error or status line, and a table that scrolls sideways on a phone. */
import type { ComponentChildren } from 'preact';

export function ErrorNote({ message }: { message: string | undefined }) {
  if (message === undefined) return null;
  return <p class="error" role="alert">{message}</p>;
}

export function StatusNote({ message }: { message: string | undefined }) {
  if (message === undefined) return null;
  return <p class="status" role="status">{message}</p>;
}

export function ScrollTable({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // Focusable so that a keyboard can scroll it (axe's scrollable-region-focusable).
    <div class="table-scroll" tabIndex={0} role="region" aria-label={label}>
      <table>{children}</table>
    </div>
  );
}
