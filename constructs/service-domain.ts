import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { DomainConfig } from '../lib/config';

/** Properties of a {@link ServiceDomain}. */
export interface ServiceDomainProps {
  /** The DNS name and its hosted zone. */
  readonly domain: DomainConfig;
}

/**
 * A DNS name for the service: an ACM certificate validated through records in the hosted zone,
 * and (with {@link pointAt}) A and AAAA alias records to the load balancer. The zone comes from
 * its ID and name, so synth makes no lookup and needs no credentials.
 */
export class ServiceDomain extends Construct {
  /** The hosted zone. */
  readonly zone: route53.IHostedZone;
  /** The DNS-validated certificate for `domain.name`. */
  readonly certificate: acm.Certificate;
  private readonly name: string;

  constructor(scope: Construct, id: string, props: ServiceDomainProps) {
    super(scope, id);
    const d = props.domain;
    this.name = d.name;
    this.zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: d.hostedZoneId, zoneName: d.hostedZoneName });
    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: d.name,
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
