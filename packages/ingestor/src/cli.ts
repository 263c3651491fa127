#!/usr/bin/env node
import { main } from '@pronielts/shared/stage';
import { stage } from './stage.ts';

await main(stage);
