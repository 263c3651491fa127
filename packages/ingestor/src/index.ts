export { env } from './env.ts';
export { stage } from './stage.ts';
