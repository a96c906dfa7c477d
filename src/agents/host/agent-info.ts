import type { ActionHandler } from '../contract.js';
import { AGENT_NAMES } from '../../ddl/registry.js';
import { VERSION } from '../../version.js';

export const agentInfo: ActionHandler = async ({ config, request }) => ({
  version: VERSION,
  node_version: process.versions.node,
  protocol: request.protocol,
  uri: config.libvirt.uri,
  uri_from: config.source.uri_from,
  config_file: config.source.file,
  read_only: config.authorization.read_only,
  agents: AGENT_NAMES.filter((name) => !config.agents.disabled.includes(name)),
});
