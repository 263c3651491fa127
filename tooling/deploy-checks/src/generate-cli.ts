#!/usr/bin/env node
import path from 'node:path';
import { loadCatalog, REPO_ROOT } from './catalog.ts';
import { TASK_PODS_DIR, writeTaskPods } from './pod-templates.ts';

// Regenerates k8s/base/task-pods/ from dags/stage_catalog.json.
const written = writeTaskPods(loadCatalog());
process.stdout.write(`${path.relative(REPO_ROOT, TASK_PODS_DIR)}: ${written.join(' ')}\n`);
