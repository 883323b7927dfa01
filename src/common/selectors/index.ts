/** Label selectors shared by agent filters and agent groups: parse, match in memory, query MongoDB. */
export * from './label-selector';
export { parseSelector } from './selector-parser';
export { requirementsFromObject, selectorRequirements, MAX_SELECTOR_REQUIREMENTS } from './selector-object';
export { matches, matchesAgent, selectorValueText, selectorValueTexts, AgentLabelSources } from './selector-matcher';
export {
  selectorToAgentFilter,
  selectorToCoarseAgentFilter,
  coarseFilterIsExact,
  storedValueCandidates,
  AGENT_LABEL_FIELDS,
} from './selector-mongo-filter';
export { AgentSelectorQuery, SelectableAgent, PageCursor, PageSort, cursorOf } from './agent-selector-query';
