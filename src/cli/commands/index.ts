// Engine commands. Each file in this folder exports a function building its CommandSpec(s) from the
// handler registry; list them here.
import type { HandlerRegistry } from '../../handler.js';
import type { CommandSpec } from '../command.js';

export function engineCommands(registry: HandlerRegistry): CommandSpec[] {
  void registry;
  return [];
}
