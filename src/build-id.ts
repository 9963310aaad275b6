// Set by scripts/bundle.mjs (a hash of the compiled engine and stages/). Without it (tsx, dist/src) the code
// running now may differ from the code that wrote a parse record or runs a daemon, so neither is trusted.
declare const RALLYCUT_BUILD_ID: string | undefined;
export const BUILD_ID: string | undefined = typeof RALLYCUT_BUILD_ID === 'string' ? RALLYCUT_BUILD_ID : undefined;
