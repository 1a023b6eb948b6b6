import { Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** Properties of a {@link ServiceDomain}. */
export interface ServiceDomainProps {
  /** The service's DNS name, such as `app.example.com`. */
  readonly domainName: string;
  /** ID of the Route 53 hosted zone the name is in, such as `Z0123456789ABCDEFGHIJ`. */
  readonly hostedZoneId: string;
  /** Name of that hosted zone, such as `example.com`. */
  readonly hostedZoneName: string;
}

/** Records and the certificate can only be made in the zone that holds the name. */
function nameProblems(props: ServiceDomainProps): string[] {
  if (Token.isUnresolved(props.domainName) || Token.isUnresolved(props.hostedZoneName)) return [];
  const name = props.domainName.replace(/\.$/, '').toLowerCase();
  const zone = props.hostedZoneName.replace(/\.$/, '').toLowerCase();
  if (name === zone || name.endsWith(`.${zone}`)) return [];
  return [`ServiceDomain domainName (${props.domainName}) must be in the hosted zone hostedZoneName (${props.hostedZoneName})`];
}

/**
 * A DNS name for the service: an ACM certificate validated through records in the hosted zone,
 * and (with {@link pointAt}) A and AAAA alias records to the load balancer. The zone comes from
 * its ID and name, so synth makes no lookup and needs no credentials.
 */
export class ServiceDomain extends Construct {
  /** The hosted zone. */
  readonly zone: route53.IHostedZone;
  /** The DNS-validated certificate for `domainName`. */
  readonly certificate: acm.Certificate;
  private readonly name: string;

  constructor(scope: Construct, id: string, props: ServiceDomainProps) {
    super(scope, id);
    this.name = props.domainName;
    this.zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: props.hostedZoneId, zoneName: props.hostedZoneName });
    this.node.addValidation({ validate: () => nameProblems(props) });
    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: props.domainName,
      validation: acm.CertificateValidation.fromDns(this.zone),
    });
  }

  /** Alias records for IPv4 and IPv6: the load balancer is dual-stack. */
  pointAt(loadBalancer: elbv2.IApplicationLoadBalancer): void {
    const target = route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(loadBalancer));
    new route53.ARecord(this, 'AliasIpv4', { zone: this.zone, recordName: this.name, target });
    new route53.AaaaRecord(this, 'AliasIpv6', { zone: this.zone, recordName: this.name, target });
  }
}
