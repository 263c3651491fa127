import { unitConfig } from '@pronielts/vitest-config';
import { mergeConfig } from 'vitest/config';

// These checks run kubectl, kubernetes-validate and hadolint as child processes: seconds each, more when
// the other packages' tests share the 2 cores, so the unit default of 5 s is too tight.
export default mergeConfig(unitConfig(), { test: { testTimeout: 60_000 } });
