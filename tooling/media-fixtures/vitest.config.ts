import { unitConfig } from '@pronielts/vitest-config';

export default unitConfig();
