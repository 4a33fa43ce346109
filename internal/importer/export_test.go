package importer

// VacuumRuleForTest is the rule the import vacuums the summary tables by.
var VacuumRuleForTest = vacuumRule
