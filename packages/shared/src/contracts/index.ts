export * from './ids.ts';
export * from './ielts.ts';
export * from './manifests.ts';
export * from './parse.ts';
export * from './rows.ts';
export * from './stages.ts';
