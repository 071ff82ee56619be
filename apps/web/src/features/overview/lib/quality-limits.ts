/** Limits of the quality trends, shared by the server (quality-series.ts) and the client panel. */

/** Buckets the trends aim for over a range (quality-series.ts `qualityInterval`). */
export const MAX_QUALITY_BUCKETS = 24
/** Score trends one request may ask for (the overview charts the first ones of the shown scores). */
export const MAX_TRENDS = 6
