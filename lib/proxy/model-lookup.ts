/**
 * Questions about a model that the demo and the tests ask, so they read paths, group names and
 * answers from the synthesized template instead of repeating the stack's settings.
 */
import { ActionModel, ListenerModel, LoadBalancerModel, RuleModel } from './model';

/** The model's first HTTPS listener. */
export function httpsListener(model: LoadBalancerModel): ListenerModel {
  const listener = model.listeners.find((l) => l.protocol === 'HTTPS');
  if (!listener) throw new Error('the template has no HTTPS listener');
  return listener;
}

/** The HTTPS listener's rule whose path-pattern condition lists `pathPattern`. */
export function ruleForPath(model: LoadBalancerModel, pathPattern: string): RuleModel {
  const rule = httpsListener(model).rules.find((r) => r.conditions.some((c) => c.field === 'path-pattern' && c.values.includes(pathPattern)));
  if (!rule) throw new Error(`the HTTPS listener has no rule for ${pathPattern}`);
  return rule;
}

function forwardedGroupName(model: LoadBalancerModel, action: ActionModel, what: string): string {
  if (action.type !== 'forward') throw new Error(`${what} is a ${action.type}, not a forward`);
  return model.targetGroups[action.targetGroups[0].targetGroup].name;
}

/** Short name of the group the rule for `pathPattern` forwards to (e.g. `/api/*` → `api`). */
export function groupForPath(model: LoadBalancerModel, pathPattern: string): string {
  return forwardedGroupName(model, ruleForPath(model, pathPattern).action, `the rule for ${pathPattern}`);
}

/** A forward's groups by short name, with their weights, in template order. */
export function weightedGroups(model: LoadBalancerModel, action: ActionModel, what: string): { name: string; weight: number }[] {
  if (action.type !== 'forward') throw new Error(`${what} is a ${action.type}, not a forward`);
  return action.targetGroups.map((g) => ({ name: model.targetGroups[g.targetGroup].name, weight: g.weight }));
}

/**
 * Short name of the group the HTTPS listener's default action forwards to: with weights, the
 * heaviest (the first of equals), the one most requests reach.
 */
export function defaultGroup(model: LoadBalancerModel): string {
  const groups = defaultGroups(model);
  return groups.reduce((a, b) => (b.weight > a.weight ? b : a)).name;
}

/** Every group of the HTTPS listener's default forward, with its weight. */
export function defaultGroups(model: LoadBalancerModel): { name: string; weight: number }[] {
  return weightedGroups(model, httpsListener(model).defaultAction, 'the default action');
}

/** The first fixed-response rule of the HTTPS listener, with a concrete path that matches it. */
export function fixedResponseRule(model: LoadBalancerModel): { path: string; action: Extract<ActionModel, { type: 'fixed-response' }> } {
  for (const rule of httpsListener(model).rules) {
    const condition = rule.conditions.find((c) => c.field === 'path-pattern');
    if (rule.action.type === 'fixed-response' && condition) return { path: examplePath(condition.values[0] as string), action: rule.action };
  }
  throw new Error('the HTTPS listener has no fixed-response rule');
}

/** A concrete path a path pattern matches (`/api/*` → `/api/x`, `/file?.txt` → `/filex.txt`). */
export function examplePath(pattern: string): string {
  return pattern.replace(/[*?]/g, 'x');
}
