// `@hindsight/collector/pricing`: the price table, custom per-project prices and re-pricing.
export { type CostTokens, computeCostUsd, priceSpan, type SpanPrice } from './price-span'
export {
  findPrice,
  matchPrice,
  PRICE_TABLE,
  type PriceEntry,
  type PriceMatch,
  type PriceRates,
  type PriceTable,
  type PriceTier,
  parsePriceEntry,
  parsePriceTable,
  ratesFor,
} from './price-table'
export {
  checkSafePattern,
  customPriceVersion,
  ingestPriceResolver,
  MAX_PROJECT_PRICES,
  type PriceTableResolver,
  type ProjectPrice,
  type ProjectPriceKey,
  ProjectPriceRepository,
  ProjectPriceResolver,
  type ProjectPriceResolverOptions,
  readPriceResolver,
  staticPriceResolver,
} from './project-prices'
export { type RepriceOptions, type RepriceResult, repriceSpans } from './reprice'
