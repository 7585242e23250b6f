//! ACM: list, describe and request DNS-validated certificates.

use crate::cloud::actions;
use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateDetail, Filters, KeyAlgorithm, ValidationMethod};

use super::error::map_sdk_error;
use super::{AwsPorts, to_system_time};
use crate::cloud::types::*;
use crate::cloud::{Certificates, CloudResult};

#[async_trait]
impl Certificates for AwsPorts {
    async fn list_certificates(&self) -> CloudResult<Vec<CertificateSummary>> {
        // Without `Includes`, ListCertificates returns RSA-2048 certificates only.
        let every_key = Filters::builder()
            .set_key_types(Some(vec![
                KeyAlgorithm::Rsa1024,
                KeyAlgorithm::Rsa2048,
                KeyAlgorithm::Rsa3072,
                KeyAlgorithm::Rsa4096,
                KeyAlgorithm::EcPrime256v1,
                KeyAlgorithm::EcSecp384r1,
                KeyAlgorithm::EcSecp521r1,
            ]))
            .build();
        let mut stream = self
            .acm
            .list_certificates()
            .includes(every_key)
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = stream.next().await {
            let page = page.map_err(|e| map_sdk_error(actions::LIST_CERTIFICATES, "ACM", e))?;
            for c in page.certificate_summary_list() {
                all.push(CertificateSummary {
                    arn: c.certificate_arn().unwrap_or_default().to_string(),
                    domain: c.domain_name().unwrap_or_default().to_string(),
                    sans: c.subject_alternative_name_summaries().to_vec(),
                    status: CertificateStatus::parse(
                        c.status().map(|s| s.as_str()).unwrap_or_default(),
                    ),
                    not_after: to_system_time(c.not_after()),
                    in_use: c.in_use().unwrap_or(false),
                });
            }
        }
        Ok(all)
    }

    async fn describe_certificate(&self, arn: &str) -> CloudResult<Certificate> {
        let out = self
            .acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::DESCRIBE_CERTIFICATE, "ACM", e))?;
        let detail = out
            .certificate()
            .cloned()
            .unwrap_or_else(|| CertificateDetail::builder().certificate_arn(arn).build());
        Ok(certificate(&detail))
    }

    async fn request_certificate(&self, request: &CertificateRequest) -> CloudResult<String> {
        let tags = request
            .tags
            .iter()
            .map(|t| {
                aws_sdk_acm::types::Tag::builder()
                    .key(&t.key)
                    .value(&t.value)
                    .build()
                    .map_err(|e| {
                        crate::cloud::CloudError::invalid(
                            actions::REQUEST_CERTIFICATE,
                            e.to_string(),
                        )
                    })
            })
            .collect::<CloudResult<Vec<_>>>()?;
        let sans: Vec<String> = request
            .sans
            .iter()
            .filter(|s| **s != request.domain)
            .cloned()
            .collect();
        let out = self
            .acm
            .request_certificate()
            .domain_name(&request.domain)
            .set_subject_alternative_names((!sans.is_empty()).then_some(sans))
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(&request.idempotency_token)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::REQUEST_CERTIFICATE, "ACM", e))?;
        Ok(out.certificate_arn().unwrap_or_default().to_string())
    }
}

fn certificate(c: &CertificateDetail) -> Certificate {
    Certificate {
        arn: c.certificate_arn().unwrap_or_default().to_string(),
        domain: c.domain_name().unwrap_or_default().to_string(),
        sans: c.subject_alternative_names().to_vec(),
        status: CertificateStatus::parse(c.status().map(|s| s.as_str()).unwrap_or_default()),
        not_after: to_system_time(c.not_after()),
        in_use: !c.in_use_by().is_empty(),
        validations: c
            .domain_validation_options()
            .iter()
            .map(|v| DomainValidation {
                domain: v.domain_name().to_string(),
                status: v
                    .validation_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "PENDING_VALIDATION".into()),
                record: v.resource_record().map(|r| ValidationRecord {
                    name: r.name().to_string(),
                    record_type: r.r#type().as_str().to_string(),
                    value: r.value().to_string(),
                }),
            })
            .collect(),
        failure_reason: c.failure_reason().map(|r| r.as_str().to_string()),
    }
}
