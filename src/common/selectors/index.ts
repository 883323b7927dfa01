/** Label selectors shared by agent filters and agent groups: parse, match in memory, query MongoDB. */
export * from './label-selector';
export { parseSelector } from './selector-parser';
export { requirementsFromObject, selectorRequirements, MAX_SELECTOR_REQUIREMENTS } from './selector-object';
export { matches, matchesAgent, selectorValueText, selectorValueTexts, AgentLabelSources } from './selector-matcher';
export { agentSelectorTerms, selectorToTermsFilter, keyTerm, valueTerm, SELECTOR_TERMS_FIELD, SELECTOR_TERM_SEPARATOR } from './selector-terms';
export { AgentSelectorQuery, PageCursor, PageSort, cursorOf } from './agent-selector-query';
