"""Synthetic clinical-note sentences with surrogate PHI, tagged inline i2b2-2014 style.

Every name, place, number and date here is invented (dates fall in odd years 2071-2109,
as i2b2 surrogates do), so the output holds no real patient data. A sentence comes from a
template such as ``"Seen by Dr. {NAME:DOCTOR|last} on {DATE}."``: an upper-case slot is a
PHI type (written as a tagged span, ``|style`` picks a surface form), a lower-case slot is
untagged clinical filler (``{Drug}`` capitalises it). Text is assembled from pieces, so
removing the ``{{TYPE}}``/``{{/TYPE}}`` markers from ``annotated_text`` gives ``orig_text``
exactly. Only ``random.Random(seed)`` is used: the same seed gives the same rows.
"""
import calendar
import csv
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Optional

from .tags import close_marker, open_marker, tag_types

__all__ = ["PHI_TYPES", "TEMPLATES", "PLAIN_TEMPLATES", "make_pairs", "write_csv", "span_counts", "phi_value"]

PHI_TYPES = (
    "NAME:PATIENT", "NAME:DOCTOR", "NAME:USERNAME", "DATE", "AGE",
    "LOCATION:HOSPITAL", "LOCATION:CITY", "LOCATION:STATE", "LOCATION:STREET", "LOCATION:ZIP",
    "LOCATION:COUNTRY", "LOCATION:ORGANIZATION", "ID:MEDICALRECORD", "ID:IDNUM",
    "CONTACT:PHONE", "CONTACT:FAX", "CONTACT:EMAIL", "PROFESSION",
)

# ---------------------------------------------------------------- word lists (our own)
FIRST = """Amara Bjorn Chiara Dmitri Esperanza Farid Gwen Hiroshi Ines Jamal Katarzyna Lars
Mei Nnamdi Oksana Pedro Qiu Rania Soren Tamsin Uchenna Valentina Wendell Ximena Yusuf Zofia
Anders Beatriz Cormac Delphine Emeka Fatima Goran Halima Ivo Jovana Kwame Leilani Mateo
Nadia Orla Priya Rafael Saoirse Tomasz Ulla Viktor Wanjiru Xavier Yara Zeynep Abebe Bronwyn
Caetano Dagny Elif Florin Giulia Hamid Ingrid Jorge Keiko Lucian Marisol Niamh Obinna Paolo
Rosalind Sanjay Thandiwe Umar Vesna Wilhelmina Yoshiro Zainab Agnieszka Bastian Carmen
Dariusz Eero Faisal Greta Henrik Isabela Joaquin Kalinda Ludmila Magnus Noor Osvaldo Petra
Ruben Sunita Teodor Ulrike Vikram Ruth Harold Doris Walter Edna Clifford Mabel Thomas
José Zoë Renée Søren Ana Li Kai Sofia Omar Grace Ethan Chloe Liam Ava Noah Lucy Arjun
""".split()

LAST = """Abernathy Okonkwo Lindqvist Moreau Takahashi Villanueva Kowalczyk Haddad Brennan
Castellanos Nakamura Petrov Oyelaran Fitzgerald Bergstrom Delacroix Mahlangu Sandoval Ivanova
Quintero Halvorsen Mbeki Rosenthal Yilmaz Kaczmarek Ferreira Whitcombe Adeyemi Novak Marchetti
Sorensen Achterberg Baptiste Chaudhry Dvorak Eriksen Fonseca Gallagher Holloway Ibarra Jankowski
Kariuki Lachance Mwangi Nwosu Ortega Pellegrini Ramaswamy Szabo Thorvaldsen Umeh Valdivia
Wojcik Xiong Yamamoto Zamora Asante Bellweather Carrington Dunmore Ekwueme Farnsworth Grimaldi
Hargreaves Ishikawa Jovanovic Kristoffersen Lindgren Mendoza Nakashima Osei Pacheco Rautio
Stavros Tremblay Urquhart Vasquez Weatherby Yoshida Zielinski Albrecht Blackwood Cordero
Dimitriou Esposito Falkenrath Gutierrez Honeycutt Iwu Jaramillo Kozlov Lemaire Mukherjee
Nieminen Oduya Pruitt Quigley Rasmussen Silva Tanaka Ueda Voss Winterbottom O'Malley
Smith-Oduya Nguyen Tran Kim Park Chen Patel Cohen Muller García Núñez Błaszczyk Øvergaard
""".split()

PROFESSIONS = """teacher|electrician|accountant|truck driver|software engineer|carpenter|chef|
librarian|farmer|paralegal|plumber|bus driver|pharmacist|firefighter|dental hygienist|welder|
architect|graphic designer|machinist|mail carrier|social worker|police officer|barista|
hairdresser|bank teller|veterinarian|landscaper|real estate agent|cashier|nurse|
construction worker|journalist|civil engineer|janitor|photographer|translator|pilot|
flight attendant|warehouse manager|lab technician|optometrist|musician|tailor|fisherman|
school counselor|mechanic|painter|security guard|data analyst|baker|florist|sales representative|
professor|home health aide|physical therapist|roofer|lawyer|dock worker|housekeeper|
insurance adjuster|electrical engineer|museum curator""".replace("\n", "").split("|")

PLACE_HEAD = """Ash Bram Cold Elm Fair Glen Hollow Iron Kings Lark Maple North Oak Pine Red Silver
Stone West Willow Birch Clear Deer East Fox Green High Lake Mill Rock Amber Brier Cedar
Dun Fern Hazel Juniper Marsh Quarry Raven Thorn""".split()
PLACE_TAIL = """ford field brook haven ton ville wood bury dale port ridge mont view wick stead
more gate crest""".split()
PLACE_EXTRA = ["Falls", "Springs", "Harbor", "Crossing", "Junction", "Heights", "Hills"]
STREET_WORDS = """Alder Quarry Juniper Meadowlark Foundry Orchard Tamarack Beacon Chestnut Larkspur
Cobble Millrace Hawthorn Kestrel Sycamore Tanner Vinegar Wharf Bellflower Granite Harrow
Linden Mariner Osprey Pinecone Ridgeway Saddle Thistle Windmill Copper""".split()
STREET_KINDS = ["Street", "St.", "Road", "Rd", "Avenue", "Ave.", "Lane", "Ln", "Drive", "Dr.",
                "Court", "Terrace", "Way", "Boulevard", "Place", "Circle"]
HOSPITAL_KINDS = ["General Hospital", "Medical Center", "Memorial Hospital", "Regional Medical Center",
                  "Community Hospital", "Health Center", "Rehabilitation Hospital", "Clinic",
                  "Children's Hospital", "Infirmary", "Nursing Home", "Cancer Institute"]
SAINTS = ["St. Aldric", "St. Brigid", "St. Osmund", "St. Perpetua", "St. Wilfrid", "Our Lady of the Hills",
          "Mercy", "Good Shepherd", "Holy Rood", "St. Casimir"]
ORG_KINDS = ["Logistics", "Construction", "Textiles", "Bakery", "Insurance", "Public Schools",
             "Community College", "Credit Union", "Foods", "Engineering", "Transit Authority",
             "Hardware", "Shipping Co.", "Dairy Cooperative", "Printing", "Auto Repair",
             "Software", "Water Department", "Fire Department", "Tool & Die", "Landscaping"]
STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}
COUNTRIES = """Nigeria|Portugal|Vietnam|Poland|Brazil|Kenya|Ireland|Japan|Mexico|India|Ghana|
Sweden|Haiti|Peru|Turkey|Ukraine|Egypt|Canada|Philippines|Ethiopia|Italy|Colombia|Jamaica|
Morocco|Greece|South Korea|Chile|Iceland|Lebanon|Cambodia|Guatemala|Norway|Somalia|Fiji|
Dominican Republic|Cape Verde|Argentina|Nepal|Bangladesh|Finland""".replace("\n", "").split("|")
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mailbox.test", "inbox.test"]

SEX = ["man", "woman", "male", "female", "gentleman", "lady"]
RELATIONS = ["wife", "husband", "son", "daughter", "sister", "brother", "mother", "father",
             "partner", "niece", "nephew", "granddaughter", "grandson", "friend", "neighbor"]
CONDITIONS = """hypertension|type 2 diabetes|atrial fibrillation|COPD|asthma|chronic kidney disease|
congestive heart failure|hyperlipidemia|coronary artery disease|osteoarthritis|hypothyroidism|
major depressive disorder|gout|obstructive sleep apnea|anemia|GERD|migraine|cirrhosis|
prostate cancer|breast cancer|Parkinson disease|rheumatoid arthritis|pneumonia|cellulitis|
urinary tract infection|deep vein thrombosis|peripheral neuropathy|epilepsy|psoriasis|
an abdominal aortic aneurysm|anxiety|diverticulitis|pancreatitis|sarcoidosis|lupus""".replace("\n", "").split("|")
SYMPTOMS = """chest pain|shortness of breath|dizziness|fatigue|nausea|vomiting|abdominal pain|
headache|palpitations|cough|fever|chills|back pain|leg swelling|dysuria|blurred vision|
weight loss|night sweats|joint pain|constipation|diarrhea|numbness in the feet|wheezing|
lightheadedness|syncope|poor appetite|insomnia|hematuria|a rash|sore throat""".replace("\n", "").split("|")
DRUG_DOSES = {  # plausible strengths, so that "aspirin 81 mg" rather than "aspirin 1 g"
    "metoprolol": ["12.5 mg", "25 mg", "50 mg"], "lisinopril": ["5 mg", "10 mg", "20 mg"],
    "atorvastatin": ["20 mg", "40 mg", "80 mg"], "metformin": ["500 mg", "850 mg", "1,000 mg"],
    "amlodipine": ["2.5 mg", "5 mg", "10 mg"], "furosemide": ["20 mg", "40 mg", "80 mg"],
    "warfarin": ["2 mg", "5 mg", "7.5 mg"], "apixaban": ["2.5 mg", "5 mg"],
    "levothyroxine": ["50 mcg", "88 mcg", "112 mcg"], "omeprazole": ["20 mg", "40 mg"],
    "gabapentin": ["100 mg", "300 mg", "600 mg"], "sertraline": ["25 mg", "50 mg", "100 mg"],
    "prednisone": ["5 mg", "20 mg", "40 mg"], "albuterol": ["2 puffs", "2.5 mg nebulized"],
    "insulin glargine": ["10 units", "22 units", "36 units"], "hydrochlorothiazide": ["12.5 mg", "25 mg"],
    "tamsulosin": ["0.4 mg"], "allopurinol": ["100 mg", "300 mg"], "losartan": ["25 mg", "50 mg", "100 mg"],
    "aspirin": ["81 mg", "325 mg"], "clopidogrel": ["75 mg"], "amoxicillin": ["500 mg", "875 mg"],
    "cephalexin": ["500 mg"], "doxycycline": ["100 mg"], "acetaminophen": ["500 mg", "650 mg", "1 g"],
    "ibuprofen": ["400 mg", "600 mg"], "oxycodone": ["5 mg", "10 mg"], "tramadol": ["50 mg"],
    "spironolactone": ["25 mg", "50 mg"], "carvedilol": ["3.125 mg", "6.25 mg", "12.5 mg"],
    "pantoprazole": ["40 mg"], "montelukast": ["10 mg"], "duloxetine": ["30 mg", "60 mg"],
    "trazodone": ["50 mg", "100 mg"], "lorazepam": ["0.5 mg", "1 mg"], "ondansetron": ["4 mg", "8 mg"],
    "vancomycin": ["1 g", "1.25 g"], "ceftriaxone": ["1 g", "2 g"], "heparin": ["5,000 units"],
}
DRUGS = list(DRUG_DOSES)
ROUTES = ["PO", "IV", "by mouth", "subcutaneously", "orally", "SL"]
FREQS = ["daily", "twice daily", "BID", "TID", "q8h", "every morning", "at bedtime", "q6h PRN",
         "once weekly", "every other day", "QID", "as needed"]
DURATIONS = ["2 days", "3 days", "one week", "10 days", "2 weeks", "three weeks", "1 month",
             "6 weeks", "3 months", "six months", "a year", "48 hours", "several days"]
TESTS = ["chest x-ray", "CT of the abdomen", "MRI of the brain", "echocardiogram", "ECG",
         "ultrasound", "stress test", "colonoscopy", "CBC", "basic metabolic panel",
         "urinalysis", "Holter monitor", "pulmonary function tests", "bone density scan",
         "CT angiogram", "lipid panel"]
FINDINGS = ["an ejection fraction of 55%", "mild left ventricular hypertrophy", "no acute process",
            "a small right pleural effusion", "bibasilar atelectasis", "a 4 mm pulmonary nodule",
            "moderate mitral regurgitation", "sinus rhythm with first-degree AV block",
            "no evidence of pneumonia", "mild degenerative changes", "a simple renal cyst",
            "hepatic steatosis", "normal sinus rhythm", "an old lacunar infarct",
            "trace pericardial effusion", "cholelithiasis without cholecystitis"]
PROCEDURES = ["cardiac catheterization", "appendectomy", "total knee replacement",
              "laparoscopic cholecystectomy", "CABG", "hip arthroplasty", "cataract surgery",
              "lumbar puncture", "thoracentesis", "upper endoscopy", "pacemaker placement",
              "hernia repair", "carpal tunnel release", "PCI with stent placement", "bronchoscopy"]
SPECIALTIES = ["cardiology", "nephrology", "oncology", "endocrinology", "neurology",
               "rheumatology", "pulmonary", "gastroenterology", "urology", "dermatology",
               "orthopedics", "infectious disease", "geriatrics", "physical therapy"]
LAB_RESULTS = ["potassium 4.1", "sodium 134", "creatinine 1.4", "WBC 11.2", "hemoglobin 9.8",
               "platelets 142", "INR 2.6", "TSH 5.8", "BUN 31", "glucose 212", "troponin < 0.01",
               "lactate 2.3", "magnesium 1.6", "albumin 3.1", "ALT 64", "BNP 880", "LDL 128"]
LABS = ["potassium", "creatinine", "INR", "TSH", "CBC", "hemoglobin A1c", "lipid panel",
        "liver function tests", "BMP", "vitamin D level"]
STABILITY = ["stable", "improving", "worsening", "well controlled", "poorly controlled",
             "at goal", "resolved", "unchanged"]
PLANS = ["continue current medications", "titrate diuretics to daily weights",
         "recheck labs in one week", "refer to cardiology", "increase activity as tolerated",
         "start a low-sodium diet", "obtain a sleep study", "discharge home with services",
         "repeat imaging in three months", "hold anticoagulation for now",
         "wean oxygen as tolerated", "begin physical therapy", "monitor blood sugars four times daily"]
ALLERGIES = ["NKDA", "penicillin (rash)", "sulfa drugs (hives)", "codeine (nausea)",
             "shellfish", "latex", "no known drug allergies", "lisinopril (angioedema)"]
DIETS = ["regular", "cardiac", "diabetic", "clear liquid", "low-sodium", "renal", "soft", "pureed"]
EXAMS = ["mild crackles at both bases", "soft systolic murmur at the apex", "no JVD",
         "2+ pitting edema to the knees", "tenderness in the right lower quadrant",
         "decreased breath sounds on the left", "no lymphadenopathy", "a well-healed midline scar",
         "full range of motion", "an irregularly irregular rhythm"]
SOCIAL = ["denies tobacco use", "quit smoking 10 years ago", "drinks 2 glasses of wine weekly",
          "no illicit drug use", "smokes half a pack per day", "exercises three times a week",
          "lives independently", "uses a walker at home"]
HOBBIES = ["gardener", "cyclist", "fisherman", "hiker", "birdwatcher", "swimmer", "golfer", "runner"]

# ---------------------------------------------------------------- templates
# Upper-case slot: PHI type -> tagged span; lower-case slot: untagged filler.
TEMPLATES = [
    "Seen by Dr. {NAME:DOCTOR|last} on {DATE}.",
    "{NAME:PATIENT} is a {AGE}-year-old {sex} with a history of {condition}.",
    "Patient {NAME:PATIENT} (MRN {ID:MEDICALRECORD}) was admitted to {LOCATION:HOSPITAL} on {DATE}.",
    "Admitted {DATE}, discharged {DATE}.",
    "Discharge date: {DATE}",
    "Date of birth: {DATE|full}",
    "{title} {NAME:PATIENT|last} returns today for follow-up of {condition}.",
    "Referred by Dr. {NAME:DOCTOR} of {LOCATION:HOSPITAL} for evaluation of {symptom}.",
    "She works as a {PROFESSION} at {LOCATION:ORGANIZATION}.",
    "He is a retired {PROFESSION} who lives with his {relation} in {LOCATION:CITY}.",
    "Lives at {LOCATION:STREET}, {LOCATION:CITY}, {LOCATION:STATE|abbr} {LOCATION:ZIP}.",
    "Address: {LOCATION:STREET}, {LOCATION:CITY}, {LOCATION:STATE} {LOCATION:ZIP}",
    "Phone: {CONTACT:PHONE}",
    "Please call {CONTACT:PHONE} with any questions.",
    "Fax results to {CONTACT:FAX} attn: Dr. {NAME:DOCTOR|last}.",
    "Records were faxed to {LOCATION:HOSPITAL} at {CONTACT:FAX} on {DATE}.",
    "Contact the clinic by email at {CONTACT:EMAIL}.",
    "Patient emailed from {CONTACT:EMAIL} asking about {drug} refills.",
    "MRN: {ID:MEDICALRECORD}",
    "Medical record number {ID:MEDICALRECORD}, account {ID:IDNUM}.",
    "Accession number {ID:IDNUM} - {test} resulted {DATE}.",
    "Electronically signed by {NAME:DOCTOR}, MD on {DATE} ({NAME:USERNAME}).",
    "Dictated by: {NAME:USERNAME}",
    "Signed: {NAME:DOCTOR|initials} / {NAME:USERNAME}",
    "Born in {LOCATION:COUNTRY}, moved to {LOCATION:CITY} in {DATE|year}.",
    "Recently traveled to {LOCATION:COUNTRY} for {duration}.",
    "Family history: mother died at {AGE|any} of {condition}; father alive at {AGE}.",
    "Her {relation}, {NAME:PATIENT|full}, can be reached at {CONTACT:PHONE}.",
    "Last colonoscopy {DATE|month} at {LOCATION:HOSPITAL} was normal.",
    "Echo on {DATE} showed {finding}.",
    "CT chest ({DATE}): {finding}.",
    "Follow up with Dr. {NAME:DOCTOR|last} in {duration}.",
    "Return to clinic on {DATE} to see Dr. {NAME:DOCTOR}.",
    "cc: Dr. {NAME:DOCTOR}, {LOCATION:HOSPITAL}",
    "{AGE} y/o {sex} with {condition} and {condition}.",
    "Pt is a {AGE}yo {sex} presenting with {symptom} x {duration}.",
    "{title} {NAME:PATIENT|last}, a {AGE}-year-old {PROFESSION}, presents with {symptom}.",
    "Transferred from {LOCATION:HOSPITAL} in {LOCATION:CITY}, {LOCATION:STATE} on {DATE}.",
    "Outside records from {LOCATION:HOSPITAL} dated {DATE} were reviewed.",
    "Her PCP is Dr. {NAME:DOCTOR} ({CONTACT:PHONE}).",
    "PCP: {NAME:DOCTOR}, {LOCATION:ORGANIZATION}",
    "Insurance: {LOCATION:ORGANIZATION}, member ID {ID:IDNUM}.",
    "He is employed by {LOCATION:ORGANIZATION} as a {PROFESSION}.",
    "Works night shifts as a {PROFESSION}; denies occupational exposures.",
    "Previously worked as a {PROFESSION} in {LOCATION:COUNTRY}.",
    "Smoked 1 ppd from age {AGE} until {DATE|year}.",
    "Diagnosed with {condition} at age {AGE|any}.",
    "Status post {procedure} on {DATE} by Dr. {NAME:DOCTOR|last}.",
    "{Procedure} performed at {LOCATION:HOSPITAL} ({DATE|year}).",
    "Last seen in clinic {DATE|short}; since then the {symptom} has improved.",
    "{DATE}: {drug} increased to {dose} {freq}.",
    "On {DATE|day}, the patient reported worsening {symptom}.",
    "Labs drawn {DATE|short} - {labres}.",
    "Hemoglobin A1c on {DATE} was {a1c}%.",
    "Discussed with the patient and {relation} ({NAME:PATIENT|first}) at the bedside.",
    "{NAME:PATIENT|full} - DOB {DATE|full} - MRN {ID:MEDICALRECORD}",
    "Name: {NAME:PATIENT|full}",
    "Patient name: {NAME:PATIENT|lastfirst}",
    "Attending: {NAME:DOCTOR}, MD",
    "Resident: Dr. {NAME:DOCTOR}; pager {CONTACT:PHONE|pager}",
    "Lives alone in an apartment on {LOCATION:STREET|name} in {LOCATION:CITY}.",
    "Moved from {LOCATION:CITY}, {LOCATION:COUNTRY} in {DATE|year} with her {relation}.",
    "Patient is a {PROFESSION} and an avid {hobby}.",
    "Next appointment: {DATE} with {NAME:DOCTOR} in {specialty}.",
    "Seen in the {specialty} clinic at {LOCATION:HOSPITAL} on {DATE|short}.",
    "She was hospitalized at {LOCATION:HOSPITAL} in {DATE|month} for {condition}.",
    "ED visit {DATE} for {symptom}; discharged home the same day.",
    "Mammogram ({DATE|year}) was negative.",
    "Colonoscopy in {DATE|year} per Dr. {NAME:DOCTOR|last}, no polyps.",
    "Please send a copy to Dr. {NAME:DOCTOR} at {LOCATION:STREET}, {LOCATION:CITY} {LOCATION:ZIP}.",
    "The zip code on file ({LOCATION:ZIP}) is outdated; new number is {CONTACT:PHONE}.",
    "{NAME:PATIENT|first} was accompanied by her {relation} and {relation}.",
    "I spoke with {title} {NAME:PATIENT|last} by phone at {CONTACT:PHONE} on {DATE}.",
    "Case discussed with Dr. {NAME:DOCTOR|last} of {specialty}, who agrees with the plan.",
    "Per Dr. {NAME:DOCTOR|last}, hold {drug} until {DATE|short}.",
    "Consent obtained by {NAME:DOCTOR}, RN.",
    "Nurse {NAME:DOCTOR|first} was notified of the {symptom} at 0400.",
    "Social work ({NAME:DOCTOR|last}) will assist with placement near {LOCATION:CITY}.",
    "Ambulance from {LOCATION:CITY} brought the patient to {LOCATION:HOSPITAL}.",
    "Originally from {LOCATION:STATE|full}, now living in {LOCATION:CITY}.",
    "Visited family in {LOCATION:COUNTRY} from {DATE|short} to {DATE|short}.",
    "Flu vaccine given {DATE}; pneumococcal vaccine {DATE|year}.",
    "Tetanus booster {DATE|month}.",
    "Results were reviewed with {title} {NAME:PATIENT|last} and the {relation}, {NAME:PATIENT|first}.",
    "Heard from {NAME:PATIENT|first}'s {relation} on {DATE|day}.",
    "Email from {NAME:PATIENT|full} <{CONTACT:EMAIL}> received {DATE}.",
    "Patient portal message ({NAME:USERNAME}) regarding {drug}.",
    "Order placed by {NAME:USERNAME}, verified by {NAME:DOCTOR|last}.",
    "Specimen ID {ID:IDNUM} sent to the {LOCATION:ORGANIZATION} lab.",
    "Device serial {ID:IDNUM}, implanted {DATE} at {LOCATION:HOSPITAL}.",
    "Prior MRN {ID:MEDICALRECORD} merged into the current record.",
    "Age: {AGE}",
    "At {AGE|any} she was diagnosed with {condition}.",
    "{AGE}-year-old {PROFESSION} from {LOCATION:CITY} with {symptom}.",
    "Her {relation}, age {AGE|any}, has {condition}.",
    "He volunteers at {LOCATION:ORGANIZATION} on weekends.",
    "Pharmacy: {LOCATION:ORGANIZATION}, {LOCATION:STREET}, phone {CONTACT:PHONE}, fax {CONTACT:FAX}.",
    "Tel {CONTACT:PHONE} | Fax {CONTACT:FAX}",
    "Report dictated {DATE} and transcribed {DATE} by {NAME:USERNAME}.",
    "{LOCATION:HOSPITAL} Emergency Department - {DATE}",
    "Dr. {NAME:DOCTOR|last} and Dr. {NAME:DOCTOR|last} performed the {procedure}.",
    "The patient, {NAME:PATIENT}, is a {AGE} year old {sex}.",
    "Mr. {NAME:PATIENT|last} lives in {LOCATION:CITY}, {LOCATION:STATE|abbr}, near his {relation}.",
    "Her {relation} is a {PROFESSION} at {LOCATION:HOSPITAL}.",
    "Username {NAME:USERNAME} reset the order set on {DATE}.",
    "Pathology report {ID:IDNUM} (collected {DATE|short}) confirms {condition}.",
    "Admitted to {LOCATION:HOSPITAL} {DATE} - {DATE} for {condition}.",
    "Mr. {NAME:PATIENT|last} is a {AGE}-year-old with {condition}.",
    "Ms. {NAME:PATIENT|last} was last seen by Dr. {NAME:DOCTOR|last} in {DATE|month}.",
    "Mrs. {NAME:PATIENT|last}, whose {relation} works for {LOCATION:ORGANIZATION}, called today.",
    "Fax: {CONTACT:FAX}",
    "If no answer, leave a message at {CONTACT:PHONE} or {CONTACT:PHONE}.",
    "Home: {CONTACT:PHONE}; work: {CONTACT:PHONE}; email: {CONTACT:EMAIL}",
    "The patient is a {AGE}-year-old right-handed {PROFESSION}.",
    "Mailing address: {LOCATION:STREET}, {LOCATION:CITY}, {LOCATION:COUNTRY}.",
    "Surgery scheduled for {DATE} at {LOCATION:HOSPITAL} with Dr. {NAME:DOCTOR}.",
    "Repeat {test} on {DATE|short} showed {finding}.",
    "{NAME:PATIENT|full} is a {AGE}-year-old {PROFESSION} from {LOCATION:CITY}, {LOCATION:STATE} who "
    "was transferred from {LOCATION:HOSPITAL} on {DATE} after several days of {symptom}.",
    "On {DATE} the patient presented to the emergency department at {LOCATION:HOSPITAL} with "
    "{symptom} and {symptom}, and was started on {drug} {dose} {freq}.",
    "Dr. {NAME:DOCTOR|last} from {specialty} saw the patient on {DATE|short} and recommended {plan}, "
    "with follow-up in {duration}.",
    "The patient's {relation}, {NAME:PATIENT|full}, who works as a {PROFESSION} in {LOCATION:CITY}, "
    "will provide transportation to appointments and can be reached at {CONTACT:PHONE}.",
    "She was born in {LOCATION:COUNTRY}, came to the United States in {DATE|year}, and has worked for"
    " {LOCATION:ORGANIZATION} for many years.",
    "Because of {condition} diagnosed at age {AGE|any}, she has been followed by Dr. {NAME:DOCTOR} at"
    " {LOCATION:HOSPITAL} for the past {duration}.",
    "Outside films from {LOCATION:HOSPITAL} (accession {ID:IDNUM}, dated {DATE}) were uploaded and "
    "reviewed with the radiology fellow this afternoon.",
    "Please direct all questions about this referral to Dr. {NAME:DOCTOR|last} by phone at "
    "{CONTACT:PHONE}, by fax at {CONTACT:FAX}, or by email at {CONTACT:EMAIL}.",
    "In {DATE|month}, {title} {NAME:PATIENT|last} underwent {procedure} at {LOCATION:HOSPITAL}, "
    "complicated by {condition} requiring a prolonged stay.",
    "Last {test} ({DATE}) showed {finding}; compared with the prior study from {DATE|year}, there is "
    "no significant interval change.",
]

PLAIN_TEMPLATES = [
    "No acute distress.",
    "Lungs clear to auscultation bilaterally.",
    "Continue {drug} {dose} {route} {freq}.",
    "Start {drug} {dose} {freq} for {condition}.",
    "{Drug} was held because of {symptom}.",
    "Patient denies {symptom}, {symptom}, or {symptom}.",
    "Reports {symptom} for the past {duration}.",
    "Labs notable for {labres} and {labres}.",
    "Exam is notable for {exam}.",
    "Exam: regular rate and rhythm; {exam}.",
    "Abdomen soft, non-tender, non-distended; {exam}.",
    "Assessment: {condition}, {stability}.",
    "Plan: {plan}.",
    "{Condition} - {stability}; continue current regimen.",
    "Blood pressure {bp}, heart rate {hr}, afebrile.",
    "Vitals: T {temp}, BP {bp}, HR {hr}, RR {rr}, SpO2 {spo2}% on room air.",
    "Will obtain {test} to rule out {condition}.",
    "{Test} showed {finding}.",
    "No evidence of {condition} on {test}.",
    "Discussed risks and benefits of {procedure}; patient agrees to proceed.",
    "Allergies: {allergy}.",
    "Medications reviewed and reconciled; {drug} {dose} {freq} added.",
    "Diet: {diet}.",
    "Encouraged weight loss and regular exercise for {condition}.",
    "Tolerating a {diet} diet without {symptom}.",
    "Wound is clean, dry and intact after {procedure}.",
    "Pain controlled with {drug} {dose} as needed.",
    "Increase {drug} to {dose} {freq}; recheck {lab} in {duration}.",
    "Taper {drug} over {duration}.",
    "{Symptom} resolved after {drug} was started.",
    "Neuro: alert and oriented x3, no focal deficits.",
    "Extremities show {exam}.",
    "Code status: {code}.",
    "Counseled on smoking cessation for {minutes} minutes.",
    "Social history: {social}.",
    "Continue physical therapy {pt_times} times a week.",
    "Fingerstick glucose {glucose} mg/dL this morning; sliding scale insulin continued.",
    "Return precautions reviewed; call if {symptom} worsens.",
    "The patient was seen and examined with the resident; agree with {plan}.",
    "Follow up in {duration} with repeat {test}.",
    "Hold {drug} the morning of the {procedure}.",
    "{Condition}: {plan}, and {plan}.",
    "Given {drug} {dose} {route} x1 in the emergency department.",
    "History of {condition} (on {drug}) and {condition}.",
    "Weight {weight} kg, down {wdelta} kg since the last visit.",
    "{Lab} pending at the time of this note.",
    "Ambulating with assistance; {symptom} is {stability}.",
    "Refer to {specialty} for {condition}.",
    "The patient has a long history of {condition} and {condition}, currently {stability} on {drug} "
    "{dose} {freq}, with no recent admissions.",
    "Over the past {duration} she has noticed progressive {symptom}, worse with exertion and partly "
    "relieved by rest, without {symptom} or {symptom}.",
    "Given persistent {symptom} despite {drug}, we will obtain {test} and consider {procedure} if the"
    " results are abnormal.",
    "Overall, {condition} is {stability}; we reviewed the medication list, side effects, and warning "
    "signs, and the patient voiced understanding of the plan.",
]

_SLOT = re.compile(r"\{([A-Za-z][A-Za-z0-9_:]*)(?:\|(\w+))?\}")

_MONTHS = list(calendar.month_name)[1:]
_DAYS = list(calendar.day_name)


# ---------------------------------------------------------------- PHI surface forms
def _ascii(s):
    "Lower-case ASCII letters of `s` (for usernames and email addresses)."
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", s.lower())


def _digits(r, n):
    "`n` random decimal digits."
    return "".join(r.choice("0123456789") for _ in range(n))


def _person(r, style):
    "A person's name; `style` is first, last, full, lastfirst or initials (None: mixed)."
    first, last, mid = r.choice(FIRST), r.choice(LAST), r.choice("ABCDEFGHJKLMNPRSTW")
    style = style or r.choice(["full", "full", "full", "last", "middle", "initial"])
    forms = {"first": first, "last": last, "full": f"{first} {last}",
             "middle": f"{first} {mid}. {last}", "initial": f"{first[0]}. {last}",
             "lastfirst": f"{last}, {first}", "initials": f"{first[0]}{mid}{last[0]}".upper()}
    return forms[style]


def _username(r, style=None):
    "A login name such as `jrk42` or `mokafor`."
    first, last = _ascii(r.choice(FIRST)) or "x", _ascii(r.choice(LAST)) or "y"
    forms = [first[0] + last[:7], first[0] + r.choice("abcdeghkmprst") + last[0] + _digits(r, 2),
             last[:5] + _digits(r, r.randint(1, 3)), first[:3] + last[:3], first[0] + last[0] + _digits(r, 3)]
    return r.choice(forms)


def _ordinal(d):
    "1 -> '1st', 22 -> '22nd', 13 -> '13th'."
    suf = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suf}"


def _date(r, style):
    "A surrogate date in an odd year; `style` is full, short, year, month or day (None: mixed)."
    y, m = r.randrange(2071, 2110, 2), r.randint(1, 12)
    d = r.randint(1, calendar.monthrange(y, m)[1])
    mn = _MONTHS[m - 1]
    forms = {
        "full": [f"{m}/{d}/{y}", f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{mn} {d}, {y}",
                 f"{mn[:3]} {d}, {y}", f"{d} {mn} {y}", f"{m:02d}/{d:02d}/{y % 100:02d}",
                 f"{m}/{d}/{y % 100:02d}", f"{d}-{mn[:3]}-{y}"],
        "short": [f"{mn[:3]} {d}", f"{mn} {d}", f"{m}/{d}", f"{mn} {_ordinal(d)}", f"{m:02d}/{d:02d}"],
        "year": [str(y)],
        "month": [f"{mn} {y}", f"{m:02d}/{y}", f"{mn[:3]} {y}"],
        "day": _DAYS,
    }
    if style == "month": return r.choice(forms["month"] + [mn])  # a bare month reads well only where asked for
    if style is None: style = r.choices(["full", "short", "month"], weights=[7, 2, 1])[0]
    return r.choice(forms[style])


def _age(r, style=None):
    "An adult age, now and then over 89; `style='any'` also allows children."
    kids = 1 if style == "any" else 0
    return str(r.choices([r.randint(19, 89), r.randint(1, 18), r.randint(90, 104)], weights=[8, kids, 1])[0])


def _place(r):
    "An invented town name such as `Ashford` or `Glenbrook Falls`."
    name = r.choice(PLACE_HEAD) + r.choice(PLACE_TAIL)
    return f"{name} {r.choice(PLACE_EXTRA)}" if r.random() < 0.2 else name


def _hospital(r, style=None):
    "An invented hospital, e.g. `Fernbury General Hospital` or `St. Osmund Medical Center`."
    head = r.choice([_place(r), _place(r), r.choice(SAINTS), r.choice(LAST)])
    return f"{head} {r.choice(HOSPITAL_KINDS)}"


def _street(r, style):
    "A street address (`style='name'`: the street name without a number)."
    name = f"{r.choice(STREET_WORDS)} {r.choice(STREET_KINDS)}"
    if r.random() < 0.2: name = f"{r.choice(['North', 'South', 'East', 'West', 'Old'])} {name}"
    return name if style == "name" else f"{r.randint(1, 9999)} {name}"


def _state(r, style):
    "A US state, full name or postal abbreviation."
    full = r.choice(list(STATES))
    style = style or r.choice(["full", "abbr"])
    return STATES[full] if style == "abbr" else full


def _zip(r, style=None):
    "A five-digit or ZIP+4 code."
    return _digits(r, 5) + (f"-{_digits(r, 4)}" if r.random() < 0.2 else "")


def _organization(r, style=None):
    "An invented employer or company."
    return f"{r.choice([r.choice(LAST), _place(r)])} {r.choice(ORG_KINDS)}"


def _mrn(r, style=None):
    "A medical record number in one of several layouts."
    forms = [_digits(r, 7), _digits(r, 8), f"{_digits(r, 3)}-{_digits(r, 2)}-{_digits(r, 3)}",
             f"{_digits(r, 2)}-{_digits(r, 3)}-{_digits(r, 2)}", "0" + _digits(r, 6)]
    return r.choice(forms)


def _idnum(r, style=None):
    "Another identifier: account, accession, serial or member number."
    up = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    forms = [r.choice(up) + _digits(r, 7), f"{_digits(r, 5)}-{_digits(r, 4)}", _digits(r, 10),
             f"{r.choice(up)}{r.choice(up)}-{_digits(r, 5)}", f"{r.choice(up)}{_digits(r, 2)}-{_digits(r, 6)}"]
    return r.choice(forms)


def _phone(r, style):
    "A phone or fax number in one of several layouts (`style='pager'`: a short pager number)."
    if style == "pager": return _digits(r, 5)
    a, e, n = r.randint(201, 989), r.randint(200, 999), _digits(r, 4)
    forms = [f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"{e}-{n}", f"{a} {e} {n}", f"1-{a}-{e}-{n}"]
    return r.choice(forms)


def _email(r, style=None):
    "An email address at an invented or reserved domain."
    first, last = _ascii(r.choice(FIRST)) or "x", _ascii(r.choice(LAST)) or "y"
    local = r.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{_digits(r, 2)}", f"{last}{first[0]}"])
    domain = r.choice(EMAIL_DOMAINS + [f"{_ascii(_place(r))}health.org"])
    return f"{local}@{domain}"


_PHI = {
    "NAME:PATIENT": _person, "NAME:DOCTOR": _person, "NAME:USERNAME": _username,
    "DATE": _date, "AGE": _age, "LOCATION:HOSPITAL": _hospital, "LOCATION:CITY": lambda r, s: _place(r),
    "LOCATION:STATE": _state, "LOCATION:STREET": _street, "LOCATION:ZIP": _zip,
    "LOCATION:COUNTRY": lambda r, s: r.choice(COUNTRIES), "LOCATION:ORGANIZATION": _organization,
    "ID:MEDICALRECORD": _mrn, "ID:IDNUM": _idnum, "CONTACT:PHONE": _phone, "CONTACT:FAX": _phone,
    "CONTACT:EMAIL": _email, "PROFESSION": lambda r, s: r.choice(PROFESSIONS),
}

# the generator of each i2b2 category, for types outside PHI_TYPES (e.g. NAME:OTHER, ID:SSN)
_PHI_CATEGORY = {"NAME": _person, "LOCATION": lambda r, s: _place(r), "ID": _idnum, "CONTACT": _phone,
                 "DATE": _date, "AGE": _age, "PROFESSION": lambda r, s: r.choice(PROFESSIONS)}


def phi_value(kind: str, r: random.Random, style: Optional[str] = None) -> Optional[str]:
    """An invented value of tag `kind` (e.g. `NAME:PATIENT`, `DATE`) drawn with `r`; `style` as in
    the templates (`last`, `full`, ...). Types outside PHI_TYPES use their category's generator
    (`NAME:OTHER` -> a name); None for an unknown category."""
    gen = _PHI.get(kind) or _PHI_CATEGORY.get(kind.split(":")[0])
    if gen is None: return None
    try: return gen(r, style)
    except KeyError:  # a style this generator does not know
        return gen(r, None)


# ---------------------------------------------------------------- untagged filler
_FILL = {
    "sex": SEX, "relation": RELATIONS, "condition": CONDITIONS, "symptom": SYMPTOMS, "drug": DRUGS,
    "route": ROUTES, "freq": FREQS, "duration": DURATIONS, "test": TESTS,
    "finding": FINDINGS, "procedure": PROCEDURES, "specialty": SPECIALTIES, "labres": LAB_RESULTS,
    "lab": LABS, "stability": STABILITY, "plan": PLANS, "allergy": ALLERGIES, "diet": DIETS,
    "exam": EXAMS, "social": SOCIAL, "hobby": HOBBIES, "title": ["Mr.", "Ms.", "Mrs."],
    "code": ["full code", "DNR/DNI", "DNR, okay to intubate", "comfort measures only"],
}
_NUM = {  # (low, high, decimals) for numeric filler
    "hr": (52, 128, 0), "rr": (12, 28, 0), "spo2": (88, 100, 0), "temp": (96.8, 101.9, 1),
    "a1c": (5.2, 11.8, 1), "minutes": (3, 15, 0), "pt_times": (2, 5, 0), "glucose": (64, 348, 0),
    "weight": (48, 131, 1), "wdelta": (0.5, 6.0, 1),
}


def _filler(r, key, ctx):
    "Untagged text for slot `key`; a capitalised key capitalises the text; `ctx` keeps the last drug."
    k = key.lower()
    if k == "dose": s = r.choice(DRUG_DOSES[ctx.get("drug", "aspirin")])
    elif k == "bp": s = f"{r.randint(92, 188)}/{r.randint(52, 104)}"
    elif k in _NUM:
        lo, hi, dp = _NUM[k]
        s = str(r.randint(lo, hi)) if dp == 0 else f"{r.uniform(lo, hi):.{dp}f}"
    else: s = r.choice(_FILL[k])
    ctx[k] = s
    return s[0].upper() + s[1:] if key[0].isupper() else s


# ---------------------------------------------------------------- sentences
def _needs_an(word):
    "Whether `word` takes 'an' rather than 'a' (vowel sound, or 8, 11, 18, 80-89)."
    if word[:1].isdigit():
        n = re.match(r"\d+", word).group()
        return n.startswith("8") and len(n) in (1, 2) or n in ("11", "18")
    w = word.lower()
    return w[:1] in "aeiou" and not w.startswith(("uni", "uri", "use", "usu", "eu", "one"))


def _render(r, template):
    "Fill `template` into a list of (text, tag) pieces; tag is None for untagged text."
    pieces, pos, ctx = [], 0, {}
    for m in _SLOT.finditer(template):
        key, style = m.groups()
        lit = template[pos:m.start()]
        val = _PHI[key](r, style) if key.isupper() else _filler(r, key, ctx)
        # grammatical article before a generated word: "a 80-year-old" -> "an 80-year-old"
        if re.search(r"(^|\s)[aA] $", lit) and _needs_an(val): lit = lit[:-1] + "n "
        pieces += [(lit, None), (val, key if key.isupper() else None)]
        pos = m.end()
    return pieces + [(template[pos:], None)]


def _join(pieces):
    "(orig_text, annotated_text) from pieces; the annotation only adds markers."
    orig = "".join(t for t, _ in pieces)
    ann = "".join(open_marker(tag) + t + close_marker(tag) if tag else t for t, tag in pieces)
    return orig, ann


def make_pairs(n: int = 3000, seed: int = 0, plain_share: float = 0.25) -> list[tuple[str, str]]:
    """Generate `n` distinct synthetic (orig_text, annotated_text) pairs.

    `seed` fixes the output (same seed, same list); about `plain_share` of the rows
    carry no PHI. Raises ValueError if `n` distinct rows cannot be found.
    """
    r, seen, pairs = random.Random(seed), set(), []
    for _ in range(n):
        templates = PLAIN_TEMPLATES if r.random() < plain_share else TEMPLATES
        for _try in range(200):  # a few plain templates have little variety: retry within the kind
            pair = _join(_render(r, r.choice(templates)))
            if pair not in seen: break
        else: raise ValueError(f"could not find {n} distinct rows (got {len(pairs)})")
        seen.add(pair)
        pairs.append(pair)
    return pairs


def write_csv(pairs, path) -> Path:
    """Write `pairs` to `path` as UTF-8 CSV with header `orig_text,annotated_text`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["orig_text", "annotated_text"])
        w.writerows(pairs)
    return path


def span_counts(pairs) -> Counter:
    "Number of tagged spans per type over the annotated side of `pairs`."
    return Counter(t for _, ann in pairs for t in tag_types(ann))
