import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate } from 'react-router';
import { api, countOf, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { useSession } from '../session';
import type { AgentGroup, RemoteConfig } from '../types';

/** Create an agent group: a selector (with a live count of the agents it matches), a priority and a config. */
export function GroupFormPage() {
  const { canWrite } = useSession();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [selector, setSelector] = useState('');
  const [priority, setPriority] = useState('0');
  const [config, setConfig] = useState('');
  const configs = useQuery({ queryKey: ['remoteconfigs'], queryFn: () => api<ResourceList<RemoteConfig>>('/remoteconfigs', { query: { limit: 200 } }) });
  const matching = useQuery({
    queryKey: ['count', 'agents', { selector }],
    queryFn: () => countOf('/agents', { selector }),
    enabled: selector.trim() !== '',
    retry: false,
  });
  const create = useMutation({
    mutationFn: () =>
      api<AgentGroup>('/agentgroups', {
        method: 'POST',
        body: {
          kind: 'AgentGroup',
          apiVersion: 'v1',
          metadata: { name },
          spec: { selector, priority: Number(priority), configs: config ? [{ fileName: '', remoteConfig: config }] : [] },
        },
      }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['agentgroups'] });
      navigate('/groups');
    },
  });
  if (!canWrite) return <Navigate to="/groups" replace />;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <>
      <h1>New agent group</h1>
      <form className="form" onSubmit={submit}>
        <label>
          Name
          <input name="name" required value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9]([\-a-z0-9]*[a-z0-9])?" />
        </label>
        <label>
          Selector
          <input name="selector" required value={selector} onChange={(e) => setSelector(e.target.value)} placeholder="env=prod,team in (a,b)" spellCheck={false} aria-describedby="selector-matches" />
        </label>
        <p id="selector-matches" role="status" className="hint">
          {selector.trim() === '' ? 'Type a selector to see how many agents it matches.' : matching.error ? 'Not a valid selector yet.' : matching.data === undefined ? 'Counting…' : `Matches ${matching.data} agents.`}
        </p>
        <label>
          Priority
          <input name="priority" type="number" value={priority} onChange={(e) => setPriority(e.target.value)} />
        </label>
        <label>
          Remote config
          <select name="config" value={config} onChange={(e) => setConfig(e.target.value)}>
            <option value="">none</option>
            {configs.data?.items.map((c) => (
              <option key={c.metadata.name} value={c.metadata.name}>
                {c.metadata.name}
              </option>
            ))}
          </select>
        </label>
        <ProblemMessage error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create group
        </button>
      </form>
    </>
  );
}
