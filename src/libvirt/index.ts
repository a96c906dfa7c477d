export { readHypervisorFacts, type HypervisorFacts, type ReadHostFactsOptions } from './host-facts.js';
export { runVirsh, runVirshBatch, stdoutOrThrow, type VirshCommand, type VirshCommandResult, type VirshOptions } from './virsh.js';
export { VirshError, type VirshErrorCode } from './virsh-error.js';
export { formatVirshCommand, quoteVirshArgument, VirshArgumentError } from './virsh-quote.js';
export { VirshParseError } from './parse/key-value-lines.js';
