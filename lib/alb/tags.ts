/**
 * Tags on target groups that tie them to Albatross: the stack writes the first, the local proxy
 * reads it (`--targets web=…`); CloudFormation writes the second, the drain scopes by it.
 */

/** Carries a target group's short name, its service's (`web`, `api`, …), into the template. */
export const TARGET_GROUP_NAME_TAG = 'albatross:target-group';

/** The tag CloudFormation puts on every resource of a stack, valued with the stack's name. */
export const STACK_NAME_TAG = 'aws:cloudformation:stack-name';
