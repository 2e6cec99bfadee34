"""The intake domain: stations, deputies and their QR codes, citizens' submissions, tracking numbers and the
citizen's public view of a case. Free of the web layer; intake_api calls into it."""
