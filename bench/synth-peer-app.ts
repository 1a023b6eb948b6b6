/**
 * The synth benchmark's peer: a bare aws-cdk-lib/aws-ecs-patterns ApplicationLoadBalancedEc2Service
 * with the same VPC (dual-stack, one NAT gateway per AZ), ECS-on-EC2 cluster and HTTPS listener
 * with an HTTP→HTTPS redirect as the Albatross stack, and nothing else (no WAF, alarms, drain).
 * `bench/synth-bench.ts` synthesizes it beside the Albatross app.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';

/** The parts of the Albatross config the peer copies, read from cdk.json's context the same way. */
interface PeerSettings {
  account: string;
  region: string;
  availabilityZones: string[];
  certificateArn: string;
  instanceType: string;
  image: string;
}

function settings(app: App): PeerSettings {
  const context = (app.node.tryGetContext('albatross') ?? {}) as { certificateArn?: string };
  return {
    account: '123456789012',
    region: 'eu-west-1',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    certificateArn: context.certificateArn ?? '',
    instanceType: 't3.small',
    image: 'traefik/whoami:v1.11.0',
  };
}

const app = new App();
const s = settings(app);
app.node.setContext(`availability-zones:account=${s.account}:region=${s.region}`, s.availabilityZones);
const stack = new Stack(app, 'SynthPeer', { env: { account: s.account, region: s.region } });
const vpc = new ec2.Vpc(stack, 'Vpc', {
  availabilityZones: s.availabilityZones,
  ipProtocol: ec2.IpProtocol.DUAL_STACK,
  natGateways: s.availabilityZones.length,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
    { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
  ],
});
const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
cluster.addCapacity('Capacity', { instanceType: new ec2.InstanceType(s.instanceType), minCapacity: 2, maxCapacity: 10 });
new ecsPatterns.ApplicationLoadBalancedEc2Service(stack, 'Service', {
  cluster,
  desiredCount: 2,
  memoryReservationMiB: 256,
  cpu: 256,
  taskImageOptions: { image: ecs.ContainerImage.fromRegistry(s.image), containerPort: 80 },
  protocol: elbv2.ApplicationProtocol.HTTPS,
  certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', s.certificateArn),
  redirectHTTP: true,
  sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
});
