#!/usr/bin/env node
import { migrateCli } from './migrate-command.ts';

process.exit(await migrateCli(process.argv.slice(2)));
