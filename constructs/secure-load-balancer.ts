import { Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LoadBalancerConfig, SecurityHeadersConfig } from '../lib/config';
import { RESPONSE_HEADER_ATTRIBUTES, SERVER_HEADER_ENABLED_ATTRIBUTE } from '../lib/alb/listener-attributes';
import { acknowledgeNag } from '../lib/nag/acknowledge';

/** Properties of a {@link SecureLoadBalancer}. */
export interface SecureLoadBalancerProps {
  /** The VPC; the load balancer goes into its public subnets. */
  readonly vpc: ec2.IVpc;
  /** Listener ports, TLS policy, timeouts, desync mode and response headers. */
  readonly settings: LoadBalancerConfig;
  /** The ACM certificate served by the HTTPS listener. */
  readonly certificate: acm.ICertificate;
  /** Where access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * Key prefix of the access logs in the bucket.
   * @default 'alb'
   */
  readonly accessLogPrefix?: string;
  /** Where the HTTPS listener forwards requests that match no rule. */
  readonly defaultTargetGroup: elbv2.IApplicationTargetGroup;
}

/**
 * An internet-facing, dual-stack Application Load Balancer with an HTTPS listener (modern TLS,
 * security response headers, no `Server` header) and an HTTP listener that only redirects to
 * HTTPS with 301, keeping host, path and query.
 */
export class SecureLoadBalancer extends Construct {
  /** The load balancer. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The load balancer's security group: 80 and 443 from anywhere, IPv4 and IPv6. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The HTTPS listener; path rules go here. */
  readonly httpsListener: elbv2.ApplicationListener;
  /** The HTTP listener (redirect only). */
  readonly httpListener: elbv2.ApplicationListener;

  constructor(scope: Construct, id: string, props: SecureLoadBalancerProps) {
    super(scope, id);
    const s = props.settings;
    this.securityGroup = this.createSecurityGroup(props.vpc, s);
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      ipAddressType: elbv2.IpAddressType.DUAL_STACK,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      deletionProtection: s.deletionProtection,
      idleTimeout: Duration.seconds(s.idleTimeoutSeconds),
      http2Enabled: true,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: s.desyncMitigationMode as elbv2.DesyncMitigationMode,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, props.accessLogPrefix ?? 'alb');
    this.httpsListener = this.loadBalancer.addListener('Https', {
      port: s.httpsPort,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
      sslPolicy: s.tlsPolicy as elbv2.SslPolicy,
      open: false,
      defaultTargetGroups: [props.defaultTargetGroup],
    });
    applySecurityHeaders(this.httpsListener, s.securityHeaders);
    this.httpListener = this.loadBalancer.addListener('Http', {
      port: s.httpPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.redirect({
        protocol: 'HTTPS',
        port: String(s.httpsPort),
        host: '#{host}',
        path: '/#{path}',
        query: '#{query}',
        permanent: true,
      }),
    });
  }

  private createSecurityGroup(vpc: ec2.IVpc, s: LoadBalancerConfig): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Albatross load balancer: HTTP and HTTPS from the internet',
      allowAllOutbound: false,
    });
    for (const port of [s.httpPort, s.httpsPort]) {
      sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `HTTP(S) ${port} from the internet (IPv4)`);
      sg.addIngressRule(ec2.Peer.anyIpv6(), ec2.Port.tcp(port), `HTTP(S) ${port} from the internet (IPv6)`);
    }
    acknowledgeNag(sg, 'EC23', 'An internet-facing load balancer must accept HTTP and HTTPS from any address; only ports 80 and 443 are open, and WAF filters the traffic.');
    return sg;
  }
}

/** Listener attribute keys of the response headers the ALB can inject. */
export const SECURITY_HEADER_ATTRIBUTES = {
  strictTransportSecurity: RESPONSE_HEADER_ATTRIBUTES['Strict-Transport-Security'],
  contentTypeOptions: RESPONSE_HEADER_ATTRIBUTES['X-Content-Type-Options'],
  frameOptions: RESPONSE_HEADER_ATTRIBUTES['X-Frame-Options'],
  contentSecurityPolicy: RESPONSE_HEADER_ATTRIBUTES['Content-Security-Policy'],
  serverEnabled: SERVER_HEADER_ENABLED_ATTRIBUTE,
} as const;

/** Sets the response-header listener attributes (the L2 listener has no property for them yet). */
function applySecurityHeaders(listener: elbv2.ApplicationListener, headers: SecurityHeadersConfig): void {
  const cfn = listener.node.defaultChild as elbv2.CfnListener;
  cfn.listenerAttributes = [
    { key: SECURITY_HEADER_ATTRIBUTES.strictTransportSecurity, value: headers.strictTransportSecurity },
    { key: SECURITY_HEADER_ATTRIBUTES.contentTypeOptions, value: headers.contentTypeOptions },
    { key: SECURITY_HEADER_ATTRIBUTES.frameOptions, value: headers.frameOptions },
    { key: SECURITY_HEADER_ATTRIBUTES.contentSecurityPolicy, value: headers.contentSecurityPolicy },
    { key: SECURITY_HEADER_ATTRIBUTES.serverEnabled, value: String(!headers.removeServerHeader) },
  ];
}
