import { HvError } from '../../core/errors.js';
import { runVirsh, runVirshBatch, stdoutOrThrow, VirshError } from '../../libvirt/index.js';
import { withXmlFile } from '../../libvirt/xml-file.js';
import { parseFilterXml, type FilterDefinition } from './filter-xml.js';

// libvirt's network filters (one nwfilter driver for the whole host, whichever connection
// asks) as hvagent names, reads, defines and removes them. Redefining a filter that exists
// keeps its UUID, and libvirt applies the new rules at once to every running NIC that uses
// it: that is how a rule change reaches running guests.

const PREFIX = 'hvagent-';
const RULE_SET_PREFIX = `${PREFIX}set-`;
const NIC_PREFIX = `${PREFIX}nic-`;
export const RULE_SET_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function ruleSetFilterName(ruleSet: string): string {
  return `${RULE_SET_PREFIX}${ruleSet}`;
}

/** The rule set a filter name stands for, or undefined for any other filter. */
export function ruleSetOf(filter: string): string | undefined {
  return filter.startsWith(RULE_SET_PREFIX) ? filter.slice(RULE_SET_PREFIX.length) : undefined;
}

/** A NIC's own filter is named after its MAC (unique on the host while the NIC exists). */
export function nicFilterName(mac: string): string {
  return `${NIC_PREFIX}${mac.replaceAll(':', '')}`;
}

export function isNicFilter(filter: string): boolean {
  return filter.startsWith(NIC_PREFIX);
}

/** Filters hvagent makes cannot be picked as a NIC's base filter: they are managed as rule sets and NICs. */
export function isHvagentFilter(filter: string): boolean {
  return filter.startsWith(PREFIX);
}

/** The rows of `virsh nwfilter-list`: UUID, Name. */
export function parseFilterList(output: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => /^-{5,}/.test(line.trim())) + 1;
  return lines.slice(start).flatMap((line) => {
    const words = line.trim().split(/\s+/);
    return words.length === 2 ? [words[1]!] : [];
  });
}

export async function listFilterNames(uri: string, signal?: AbortSignal): Promise<string[]> {
  return parseFilterList(await runVirsh(['nwfilter-list'], { uri, signal }));
}

export function isMissingFilter(error: unknown): boolean {
  return error instanceof VirshError && /Network filter not found|no nwfilter with matching/i.test(error.stderr);
}

/** The named filters in one virsh process; a missing one is undefined. */
export async function readFilters(uri: string, names: readonly string[], signal?: AbortSignal): Promise<Array<FilterDefinition | undefined>> {
  const results = await runVirshBatch(names.map((name) => ['nwfilter-dumpxml', name]), { uri, ...(signal && { signal }) });
  return results.map((result) => (result.error && isMissingFilter(result.error) ? undefined : parseFilterXml(stdoutOrThrow(result))));
}

export async function readFilter(uri: string, name: string, signal?: AbortSignal): Promise<FilterDefinition | undefined> {
  return (await readFilters(uri, [name], signal))[0];
}

/**
 * Defines a filter, or redefines it under its UUID when it exists (libvirt refuses a
 * definition without it); returns the XML it replaced. A new filter costs one process.
 */
export async function defineFilter(uri: string, name: string, build: (uuid: string | null) => string, signal?: AbortSignal): Promise<string | undefined> {
  const define = (uuid: string | null) => withXmlFile(build(uuid), (file) => runVirsh(['nwfilter-define', file], { uri, signal }));
  try {
    await define(null);
    return undefined;
  } catch (error) {
    if (!(error instanceof VirshError) || !/already exists with uuid/i.test(error.stderr)) throw error;
  }
  const replaced = await runVirsh(['nwfilter-dumpxml', name], { uri, signal });
  await define(parseFilterXml(replaced).uuid);
  return replaced;
}

/** Puts a filter's former definition back (undoing a redefinition). */
export async function restoreFilter(uri: string, xml: string): Promise<void> {
  await withXmlFile(xml, (file) => runVirsh(['nwfilter-define', file], { uri }));
}

/** Removes a filter; one that is not there is no change. libvirt refuses while a running NIC uses it. */
export async function undefineFilter(uri: string, name: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await runVirsh(['nwfilter-undefine', name], { uri, signal });
    return true;
  } catch (error) {
    if (isMissingFilter(error)) return false;
    throw error;
  }
}

/** A base filter or rule set a request names must exist. */
export function mustExist(found: FilterDefinition | undefined, input: string, what: string): FilterDefinition {
  if (!found) throw new HvError('NOT_FOUND', `Input '${input}': no ${what} on this host`, { input });
  return found;
}
