import { AlbatrossConfig, HealthCheckConfig, ServiceConfig } from './schema';

/** Health check every target group starts from. */
export const DEFAULT_HEALTH_CHECK: HealthCheckConfig = {
  path: '/health',
  intervalSeconds: 30,
  timeoutSeconds: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  matcher: '200',
};

/**
 * Settings every service starts from; a service in the config overrides any of them. The image is a
 * tiny public echo server that answers `/health`, so a first deploy comes up healthy.
 */
export const DEFAULT_SERVICE: ServiceConfig = {
  image: 'traefik/whoami:v1.11.0',
  containerPort: 80,
  memoryReservationMiB: 256,
  cpu: 256,
  desiredCount: 2,
  maxCount: 20,
  healthCheckGracePeriodSeconds: 60,
  logRetentionDays: 30,
  environment: {},
  healthCheck: DEFAULT_HEALTH_CHECK,
  deregistrationDelaySeconds: 30,
  slowStartSeconds: 0,
  algorithm: 'round_robin',
  anomalyMitigation: false,
  scaling: {
    cpuTargetPercent: 70,
    requestsPerTarget: 1000,
    scaleInCooldownSeconds: 300,
    scaleOutCooldownSeconds: 60,
  },
};

/**
 * The defaults of a deployment. There is no default certificate: `cdk.json` holds a placeholder in
 * the default (documentation) account so that `cdk synth` works out of the box; `cdk deploy`
 * needs your own.
 */
export const DEFAULT_CONFIG: AlbatrossConfig = {
  stackName: 'Albatross',
  env: {
    account: '123456789012',
    region: 'eu-west-1',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  },
  certificateArn: '',
  network: {
    flowLogRetentionDays: 30,
  },
  loadBalancer: {
    deletionProtection: true,
    idleTimeoutSeconds: 60,
    tlsPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    desyncMitigationMode: 'defensive',
    httpsPort: 443,
    httpPort: 80,
    accessLogRetentionDays: 90,
    securityHeaders: {
      strictTransportSecurity: 'max-age=31536000; includeSubDomains; preload',
      contentTypeOptions: 'nosniff',
      frameOptions: 'DENY',
      contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'",
      removeServerHeader: true,
    },
  },
  // The seeds' layout: a sticky web app with its next revision as a 10 % canary, an API on its own
  // path and host name, static assets from their own service, and the maintenance answer.
  services: {
    web: { ...DEFAULT_SERVICE, stickinessSeconds: 86400 },
    'web-canary': { ...DEFAULT_SERVICE, desiredCount: 1, maxCount: 2, stickinessSeconds: 86400 },
    api: { ...DEFAULT_SERVICE, algorithm: 'least_outstanding_requests' },
    static: DEFAULT_SERVICE,
  },
  defaultAction: { forward: { web: 90, 'web-canary': 10 }, groupStickinessSeconds: 3600 },
  rules: [
    { priority: 5, conditions: { hostHeaders: ['api.*'] }, action: { forward: { api: 1 } } },
    { priority: 10, conditions: { pathPatterns: ['/api/*'] }, action: { forward: { api: 1 } } },
    { priority: 20, conditions: { pathPatterns: ['/static/*'] }, action: { forward: { static: 1 } } },
    {
      priority: 30,
      conditions: { pathPatterns: ['/maintenance'] },
      action: {
        fixedResponse: {
          statusCode: 503,
          contentType: 'application/json',
          body: '{"status":"maintenance"}',
        },
      },
    },
  ],
  capacity: {
    instanceType: 't3.small',
    minCapacity: 2,
    maxCapacity: 10,
    desiredCapacity: 2,
    healthCheckGracePeriodSeconds: 300,
    lifecycleHeartbeatSeconds: 300,
  },
  waf: {
    maxBodyBytes: 5 * 1024 * 1024,
    generalRateLimit: { limit: 1200, windowSeconds: 60 },
    // The seeds' figures, as WAF counts them: a limit of at least 10 per window.
    rateLimits: [
      { name: 'api', pathPrefix: '/api/', limit: 600, windowSeconds: 60 }, // 10 requests/s
      { name: 'auth', pathPrefix: '/auth/', limit: 50, windowSeconds: 600 }, // 5/min
      { name: 'upload', pathPrefix: '/upload/', limit: 20, windowSeconds: 600 }, // 2/min
    ],
  },
  alarms: {
    target5xxRatePercent: 1,
    p95LatencyMs: 500,
    periodSeconds: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    elb5xxRatePercent: 1,
    rollbackOnAlarm: true,
  },
};
