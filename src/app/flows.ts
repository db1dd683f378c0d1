/**
 * Flows that cross domains, composed here and handed to the domains as callbacks, so no domain
 * imports another to finish its work: an import is followed by the tags that read its data.
 */
import type { AfterImport } from '../ingest/http.ts';
import type { Stores } from '../stores/stores.ts';
import { runTagsAfterImport } from '../tags/engine.ts';

/** Once an import has landed (from the API, a resumed upload or the command line), tags follow the data. */
export function tagsAfterImport(stores: Stores): AfterImport {
  return (workspaceId) => runTagsAfterImport(stores, workspaceId);
}
