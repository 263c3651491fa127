#!/usr/bin/env node
import { bucketsCli } from './buckets-command.ts';

process.exit(await bucketsCli(process.argv.slice(2)));
