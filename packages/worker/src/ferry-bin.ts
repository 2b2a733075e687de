import { runFerry } from './ferry/program.js';

process.exitCode = await runFerry(process.argv);
