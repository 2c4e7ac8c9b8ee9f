"""Identifier and code systems the practice's records use, in one place.

Outside systems (NPI, X12 code lists, HL7 terminology) are named by their official URIs; the
practice's own (record numbers, appointment types) by URNs under `urn:mederi:`.
"""

from django.conf import settings

NPI = "http://hl7.org/fhir/sid/us-npi"
SSN = "http://hl7.org/fhir/sid/us-ssn"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"  # MR, MB, SS, ...


def mrn_system() -> str:
    """The practice's medical record numbers (Patient.identifier, type MR)."""
    return getattr(settings, "MEDERI_MRN_SYSTEM", "urn:oid:2.16.840.1.113883.3.7777.1")


PAYER_ID = "urn:mederi:payer-id"  # Organization.identifier: the payer's X12 id (NM109 of loop 2100A)
MEMBER_ID = "urn:mederi:member-id"  # Coverage.identifier (type MB): the member id on the insurance card
GROUP_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"  # Coverage.class type "group", "plan"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"  # "pay" for payers
APPOINTMENT_TYPE = "urn:mederi:appointment-type"  # the practice's own types (AppointmentType.code)
APPOINTMENT_SERIES = "urn:mederi:appointment-series"  # Appointment.identifier shared by a recurring series
CANCEL_REASON = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://loinc.org"
CONTACT_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v2-0131"  # C emergency contact, E employer, ...
RELATED_PERSON_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"  # MTH, FTH, SPS, GUARD, ...
COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"  # reminder, notification
X12_SERVICE_TYPE = "https://x12.org/codes/service-type-codes"  # EQ01/EB03 service type codes (30, 98, ...)
X12_REJECT_REASON = "urn:mederi:x12-reject-reason"  # AAA03 codes of a 271 (75 subscriber not found, ...)
ELIGIBILITY_TRACE = "urn:mederi:eligibility-trace"  # CoverageEligibilityRequest.identifier: the 270's TRN02
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"  # "ro": a room
ROOM = "ro"  # Location.physicalType code of a room (partOf its clinic)
APPOINTMENT_PARTICIPANT = "urn:mederi:appointment-participant"  # participant.type "room": the booked room
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"  # Location's IANA time zone (valueCode)
QUALIFICATION = "http://terminology.hl7.org/CodeSystem/v2-0360"  # Practitioner.qualification: MD, DO, NP, ...
PRACTICE_SETTING = "http://snomed.info/sct"  # PractitionerRole.specialty (c80-practice-codes are SNOMED CT)
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"  # doctor, nurse, ...
# Orders and results exchanged with labs (HL7 v2, mederi/interop)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
PLACER_ORDER = "urn:mederi:placer-order-number"  # ServiceRequest.identifier (type PLAC): ORC-2/OBR-2 sent to the lab
PLACER_GROUP = "urn:mederi:placer-group-number"  # ServiceRequest.requisition: the tests ordered together (ORC-4)
FILLER_ORDER = "urn:mederi:filler-order-number"  # DiagnosticReport/Observation.identifier: the lab's number, by lab
OBSERVATION_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"  # laboratory, ...
DIAGNOSTIC_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"  # LAB, RAD, ...
CDS_ALERT_KIND = "urn:mederi:cds-alert"  # CDS card topic: interaction, allergy, duplicate
CDS_OVERRIDE_REASON = "urn:mederi:cds-override-reason"  # why a clinician went ahead despite a card
# Prescribing and e-prescribing (mederi/clinical/prescribing)
DEA = "urn:oid:2.16.840.1.113883.4.814"  # Practitioner.identifier: DEA registration number (controlled substances)
NCPDP_ID = "http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber"  # a pharmacy's 7-digit id
PHARMACY = "urn:mederi:organization-kind"  # Organization.type code "pharmacy": the pharmacy directory
ROUTE = "http://snomed.info/sct"  # Dosage.route (SNOMED CT route of administration)
TIMING_ABBREVIATION = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"  # Timing.code: BID, TID, ...
ERX_STATUS = "urn:mederi:erx"  # MedicationRequest extension: what the pharmacy network made of the prescription
# The chart's structured entries (mederi/clinical/entries)
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"  # problem-list-item
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"  # active, resolved, ...
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
FAMILY_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"  # MTH, FTH, SIS, ...
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
LIST_CODE = "http://terminology.hl7.org/CodeSystem/list-example-use-codes"  # "medications"
MEDICATION_RECONCILIATION = "urn:mederi:medication-reconciliation"  # continued, changed, stopped per item
# Claims and remittance (mederi/billing)
CLAIM_NUMBER = "urn:mederi:claim-number"  # Claim.identifier: CLM01 of the 837P, echoed as CLP01 of the 835
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"  # CAS reason codes of an 835 (45, 96, 1, ...)
RARC = "https://x12.org/codes/remittance-advice-remark-codes"  # LQ/MOA/MIA remark codes (N130, M15, ...)
CLAIM_ADJUSTMENT_GROUP = "https://x12.org/codes/claim-adjustment-group-codes"  # CO, PR, OA, PI
REMITTANCE_TRACE = "urn:mederi:remittance-trace"  # PaymentReconciliation.identifier: the 835's TRN02 (check/EFT no.)
CLAIM_STATUS = "urn:mederi:claim-status"  # Claim extension (valueCode): mederi/billing/claim_status.py
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "urn:oid:2.16.840.1.113883.6.285"  # HCPCS Level II
CPT_MODIFIER = "urn:mederi:procedure-modifier"  # CPT and HCPCS modifiers (25, 59, LT, ...)
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
# Visit documentation (mederi/clinical/notes)
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"  # Encounter.class: AMB, an office visit
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"  # PPRF primary performer
QUESTIONNAIRE_USE = "urn:mederi:questionnaire-use"  # Questionnaire.meta.tag: note-template
NOTE_TEMPLATE_URL = "urn:mederi:note-template:"  # Questionnaire.url of a note template: this + its slug
SUPERVISING_PRACTITIONER = "urn:mederi:supervising-practitioner"  # Practitioner extension: who co-signs their notes
TAX_ID = "urn:oid:2.16.840.1.113883.4.4"  # Organization.identifier: the US employer identification number (EIN)
PROVIDER_TAXONOMY = "http://nucc.org/provider-taxonomy"  # Practitioner.qualification / Organization.type
