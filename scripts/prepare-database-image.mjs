// Builds the prepared database image (src/db/database-image.ts) under node_modules/.cache/docucommit/: run by
// `npm ci` (postinstall) and, when it is missing, by the first start that needs one, in a child process.
// Never fails an installation: without an image a first start creates its database itself.
import { loadSources } from '../bin/load-sources.mjs';

try {
  const { buildDatabaseImage } = await loadSources('src/db/database-image-build.ts');
  await buildDatabaseImage();
} catch (error) {
  process.stderr.write(`docucommit: could not prepare the database image (${error instanceof Error ? error.message : error})\n`);
}
