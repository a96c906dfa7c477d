import type { ActionHandler } from '../contract.js';
import { defaultFilter } from '../../network/firewall/nic-firewall.js';
import { defineRuleSet, deleteRuleSet as deleteOperation, listRuleSets } from '../../network/firewall/rule-sets.js';

export const list: ActionHandler = async ({ config, signal }) => {
  const ruleSets = await listRuleSets(config, signal);
  return { rule_sets: ruleSets, names: ruleSets.map((set) => set.name), count: ruleSets.length, default_filter: defaultFilter(config) };
};

export const define: ActionHandler = async (context) => {
  const { ruleSet, changed } = await defineRuleSet(context.config, String(context.inputs.name), String(context.inputs.rules), context);
  return { name: ruleSet.name, changed, rules: ruleSet.rules, used_by: ruleSet.used_by };
};

export const deleteRuleSet: ActionHandler = async (context) => {
  const name = String(context.inputs.name);
  return { name, ...(await deleteOperation(context.config, name, context)) };
};
