import type { BuildOptions, BuildResult } from 'esbuild';

let inFlight = 0;

/**
 * Run one esbuild build and stop esbuild's helper process once no build of this process is in flight.
 *
 * esbuild's JavaScript API keeps a native helper process alive after a build (27–40 MB of a small server's
 * memory, for the whole life of the process), though a server builds only twice: the editor island and, when its
 * cache is stale, the render workers' bundle. Builds running together share the helper; the last one to finish
 * stops it, and a later build starts a new one.
 */
export async function buildOnce<T extends BuildOptions>(options: T & { [Key in Exclude<keyof T, keyof BuildOptions>]: never }): Promise<BuildResult<T>> {
  const esbuild = await import('esbuild');
  inFlight += 1;
  try {
    return await esbuild.build(options);
  } finally {
    inFlight -= 1;
    if (inFlight === 0) await esbuild.stop().catch(() => {});
  }
}
