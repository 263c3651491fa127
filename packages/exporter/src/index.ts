export { env } from './env.ts';
export { exportStage, PHASES, validateStage } from './stage.ts';
