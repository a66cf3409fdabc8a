/** The page's views, by hash (`#/keys`), so a reload or a bookmark keeps the view. */
export const VIEWS = [
  { id: 'overview', title: 'Overview' },
  { id: 'keys', title: 'Keys' },
  { id: 'models', title: 'Models' },
  { id: 'usage', title: 'Usage' },
  { id: 'live', title: 'Live' },
] as const;

export type ViewId = (typeof VIEWS)[number]['id'];

export function viewFromHash(hash: string): ViewId {
  const name = hash.replace(/^#\/?/, '');
  return VIEWS.find((view) => view.id === name)?.id ?? 'overview';
}
