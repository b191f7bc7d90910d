// The plugin's version (package.json) and the git commit it was built from,
// which the release bundle injects with esbuild's `define`.
import packageJson from '../../package.json' with { type: 'json' };

declare const __DATAMOVER_COMMIT__: string | undefined;

export const PLUGIN_VERSION: string = packageJson.version;
export const BUILD_COMMIT: string = typeof __DATAMOVER_COMMIT__ === 'string' ? __DATAMOVER_COMMIT__ : 'source';
