"""The lab order form: choose tests, the lab, priority and a note; HL7 sending is interop's place_lab_order."""
