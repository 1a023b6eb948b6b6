import { Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RESPONSE_HEADER_ATTRIBUTES, SERVER_HEADER_ENABLED_ATTRIBUTE } from '../lib/alb/listener-attributes';
import { acknowledgeNag } from '../lib/nag/acknowledge';

/** Properties of a {@link SecureLoadBalancer}. */
export interface SecureLoadBalancerProps {
  /** The VPC; the load balancer goes into its public subnets. */
  readonly vpc: ec2.IVpc;
  /**
   * Port of the HTTPS listener.
   * @default 443
   */
  readonly httpsPort?: number;
  /**
   * Port of the HTTP listener, which only redirects to HTTPS.
   * @default 80
   */
  readonly httpPort?: number;
  /**
   * TLS policy of the HTTPS listener.
   * @default elbv2.SslPolicy.RECOMMENDED_TLS (TLS 1.3, and TLS 1.2 as the floor)
   */
  readonly tlsPolicy?: elbv2.SslPolicy;
  /**
   * How long an idle connection stays open.
   * @default Duration.minutes(1)
   */
  readonly idleTimeout?: Duration;
  /**
   * How the load balancer treats requests that may be used for HTTP desync (request smuggling).
   * @default elbv2.DesyncMitigationMode.DEFENSIVE
   */
  readonly desyncMitigationMode?: elbv2.DesyncMitigationMode;
  /**
   * Whether CloudFormation may delete the load balancer.
   * @default true (it may not)
   */
  readonly deletionProtection?: boolean;
  /**
   * Response headers the HTTPS listener adds to every response.
   * @default - the defaults of {@link SecurityHeaders}
   */
  readonly securityHeaders?: SecurityHeaders;
  /** The ACM certificate served by the HTTPS listener. */
  readonly certificate: acm.ICertificate;
  /** Where access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * Key prefix of the access logs in the bucket.
   * @default 'alb'
   */
  readonly accessLogPrefix?: string;
  /**
   * Where the HTTPS listener forwards requests that match no rule. Give this or `defaultAction`.
   * @default - none; `defaultAction` is given
   */
  readonly defaultTargetGroup?: elbv2.IApplicationTargetGroup;
  /**
   * What the HTTPS listener does with requests that match no rule, such as a weighted forward to
   * several target groups (`elbv2.ListenerAction.weightedForward`). Give this or `defaultTargetGroup`.
   * @default - none; `defaultTargetGroup` is given
   */
  readonly defaultAction?: elbv2.ListenerAction;
}

/** Response headers the load balancer sets on every HTTPS response (listener attributes). */
export interface SecurityHeaders {
  /**
   * `Strict-Transport-Security`.
   * @default 'max-age=31536000; includeSubDomains; preload'
   */
  readonly strictTransportSecurity?: string;
  /**
   * `X-Content-Type-Options`.
   * @default 'nosniff'
   */
  readonly contentTypeOptions?: string;
  /**
   * `X-Frame-Options`: `DENY`, `SAMEORIGIN` or `ALLOW-FROM <origin>`.
   * @default 'DENY'
   */
  readonly frameOptions?: string;
  /**
   * `Content-Security-Policy`.
   * @default "default-src 'self'; frame-ancestors 'none'"
   */
  readonly contentSecurityPolicy?: string;
  /**
   * Whether to remove the `Server: awselb/2.0` header the load balancer adds.
   * @default true
   */
  readonly removeServerHeader?: boolean;
}

const DEFAULT_SECURITY_HEADERS: Required<SecurityHeaders> = {
  strictTransportSecurity: 'max-age=31536000; includeSubDomains; preload',
  contentTypeOptions: 'nosniff',
  frameOptions: 'DENY',
  contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'",
  removeServerHeader: true,
};

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
    const httpsPort = props.httpsPort ?? 443;
    const httpPort = props.httpPort ?? 80;
    this.node.addValidation({ validate: () => [...portProblems(httpsPort, httpPort), ...defaultActionProblems(props)] });
    this.securityGroup = this.createSecurityGroup(props.vpc, [httpPort, httpsPort]);
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      ipAddressType: elbv2.IpAddressType.DUAL_STACK,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      deletionProtection: props.deletionProtection ?? true,
      idleTimeout: props.idleTimeout ?? Duration.minutes(1),
      http2Enabled: true,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: props.desyncMitigationMode ?? elbv2.DesyncMitigationMode.DEFENSIVE,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, props.accessLogPrefix ?? 'alb');
    this.httpsListener = this.loadBalancer.addListener('Https', {
      port: httpsPort,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
      sslPolicy: props.tlsPolicy ?? elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
      ...httpsDefault(props),
    });
    applySecurityHeaders(this.httpsListener, { ...DEFAULT_SECURITY_HEADERS, ...props.securityHeaders });
    this.httpListener = this.loadBalancer.addListener('Http', {
      port: httpPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.redirect({
        protocol: 'HTTPS',
        port: String(httpsPort),
        host: '#{host}',
        path: '/#{path}',
        query: '#{query}',
        permanent: true,
      }),
    });
  }

  private createSecurityGroup(vpc: ec2.IVpc, ports: number[]): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Albatross load balancer: HTTP and HTTPS from the internet',
      allowAllOutbound: false,
    });
    for (const port of ports) {
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

/** Sets the response-header listener attributes through the L2 listener, beside any it sets itself. */
function applySecurityHeaders(listener: elbv2.ApplicationListener, headers: Required<SecurityHeaders>): void {
  listener.setAttribute(SECURITY_HEADER_ATTRIBUTES.strictTransportSecurity, headers.strictTransportSecurity);
  listener.setAttribute(SECURITY_HEADER_ATTRIBUTES.contentTypeOptions, headers.contentTypeOptions);
  listener.setAttribute(SECURITY_HEADER_ATTRIBUTES.frameOptions, headers.frameOptions);
  listener.setAttribute(SECURITY_HEADER_ATTRIBUTES.contentSecurityPolicy, headers.contentSecurityPolicy);
  listener.setAttribute(SECURITY_HEADER_ATTRIBUTES.serverEnabled, String(!headers.removeServerHeader));
}

/** The HTTPS listener's default, as the listener options take it; with neither prop the validation reports it. */
function httpsDefault(props: SecureLoadBalancerProps): Pick<elbv2.BaseApplicationListenerProps, 'defaultAction' | 'defaultTargetGroups'> {
  if (props.defaultAction) return { defaultAction: props.defaultAction };
  return props.defaultTargetGroup ? { defaultTargetGroups: [props.defaultTargetGroup] } : {};
}

/** The listener has one default: a target group, or an action. */
function defaultActionProblems(props: SecureLoadBalancerProps): string[] {
  const given = [props.defaultTargetGroup, props.defaultAction].filter((d) => d !== undefined).length;
  return given === 1 ? [] : [`SecureLoadBalancer needs exactly one of defaultTargetGroup and defaultAction (got ${given === 0 ? 'neither' : 'both'})`];
}

/** Two listeners cannot share a port, and ports are 1–65535. */
function portProblems(httpsPort: number, httpPort: number): string[] {
  const found: string[] = [];
  for (const [prop, port] of [['httpsPort', httpsPort], ['httpPort', httpPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) found.push(`SecureLoadBalancer ${prop} must be an integer from 1 to 65535 (got ${port})`);
  }
  if (httpsPort === httpPort) found.push(`SecureLoadBalancer httpPort must differ from httpsPort (both ${httpPort})`);
  return found;
}
