export { env } from './env.ts';
export { exportStage, PHASES, validateStage } from './stage.ts';
export { ruleConfigFrom } from './validate/config.ts';
export { type CorpusLabel, judgeCorpus, loadGateCorpus, precisionRecall } from './validate/corpus.ts';
export { listItemsToValidate } from './validate/validations.repository.ts';
