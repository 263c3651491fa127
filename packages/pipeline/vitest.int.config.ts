import { intConfig } from '@pronielts/vitest-config';

export default intConfig();
