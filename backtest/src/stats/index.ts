export {
  type BootstrapOptions,
  harrellDavis,
  type PairedBootstrapResult,
  pairedBootstrap,
  quantile,
  type Statistic,
} from './bootstrap'
export {
  betaCdf,
  binomialCdf,
  chiSquare1Sf,
  normalCdf,
  normalQuantile,
  tCdf,
  tQuantile,
  twoSidedNormalP,
  twoSidedTP,
  zFor,
} from './distributions'
export {
  type ClusterLabels,
  clusteredMeanCI,
  clusterIndex,
  designEffect,
  type Estimate,
  meanCI,
  type Values,
} from './mean'
export { adjust, benjaminiHochberg, CORRECTION_LABEL, type Correction, holm } from './multiple'
export {
  differences,
  type McNemarResult,
  mcnemar,
  mcnemarPaired,
  pairedMeanDifference,
  type WilcoxonResult,
  type WinTieLoss,
  wilcoxonSignedRank,
  winTieLoss,
} from './paired'
export {
  mdeForProportion,
  minimumDetectableEffect,
  type PowerOptions,
  powerMultiplier,
  samplesNeeded,
} from './power'
export { type RateEstimate, ruleOfThree, wilson } from './rates'
export { createRng, hashSeed, type Rng } from './rng'
