/** The services of a template, as compose and the local demo run them (lib/proxy/services.ts). */
import { loadModelFromTemplate } from '../../../lib/proxy/template';
import { readServices } from '../../../lib/proxy/services';
import SERVICES_TEMPLATE from './support/services.template.json';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
const copy = (): Template => JSON.parse(JSON.stringify(SERVICES_TEMPLATE)) as Template;
const services = (template: Template) => readServices(template, loadModelFromTemplate(template, { onWarning: () => undefined }), 'fixture');
const ecsServices = (template: Template) => Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ECS::Service');

test('one service per ECS service, named by its target group, with its desired count and health check path', () => {
  expect(services(copy())).toEqual([
    { name: 'web', logicalId: 'ServicewebService', targetGroups: ['web'], replicas: 2, healthCheckPaths: ['/health'] },
    { name: 'web-canary', logicalId: 'ServicewebcanaryService', targetGroups: ['web-canary'], replicas: 1, healthCheckPaths: ['/health'] },
    { name: 'api', logicalId: 'ServiceapiService', targetGroups: ['api'], replicas: 2, healthCheckPaths: ['/health'] },
    { name: 'static', logicalId: 'ServicestaticService', targetGroups: ['static'], replicas: 1, healthCheckPaths: ['/health'] },
  ]);
});

test('one ECS service in several groups (the single-service shape) is one service named by its container', () => {
  const template = copy();
  const [[, web], ...others] = ecsServices(template);
  const groups = others.map(([, s]) => (s.Properties.LoadBalancers as unknown[])[0]);
  web.Properties.LoadBalancers = [...(web.Properties.LoadBalancers as unknown[]), ...groups].map((lb) => ({ ...(lb as object), ContainerName: 'app' }));
  for (const [id] of others) delete template.Resources[id];
  expect(services(template)).toEqual([{ name: 'app', logicalId: 'ServicewebService', targetGroups: ['web', 'web-canary', 'api', 'static'], replicas: 2, healthCheckPaths: ['/health'] }]);
});

test('a group no ECS service registers in gets one stand-in; ECS defaults to one task without DesiredCount', () => {
  const template = copy();
  const [[canaryId], [, api]] = ecsServices(template).slice(1);
  delete template.Resources[canaryId];
  delete api.Properties.DesiredCount;
  const byName = Object.fromEntries(services(template).map((s) => [s.name, s]));
  expect(byName.api.replicas).toBe(1);
  expect(byName['web-canary']).toEqual({ name: 'web-canary', targetGroups: ['web-canary'], replicas: 1, healthCheckPaths: ['/health'] });
});

test('a DesiredCount that is not a literal is a one-line error naming the service', () => {
  const template = copy();
  ecsServices(template)[0][1].Properties.DesiredCount = { Ref: 'Count' };
  expect(() => services(template)).toThrow('fixture: ECS service ServicewebService.DesiredCount must be a literal count (got {"Ref":"Count"})');
});
