import { resolveResourceType } from '../resource-types';
import { listQuery } from './resource-reader';

describe('listQuery', () => {
  it('asks for whole agents (view=full) only when told, and only of agents', () => {
    expect(listQuery(resolveResourceType('agents'), { selector: 'a=b' })).not.toHaveProperty('view');
    expect(listQuery(resolveResourceType('agents'), { selector: 'a=b', full: true })).toMatchObject({ selector: 'a=b', view: 'full' });
    expect(listQuery(resolveResourceType('agentgroups'), { full: true })).not.toHaveProperty('view');
  });
});
